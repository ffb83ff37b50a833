// Geolocation: Route 53 geolocation and gdnsd geoip maps. The most specific key that
// matches the client wins: `country:XX`, then `continent:XX`, then `default`. When the
// matched region is unhealthy, Route 53 falls back to the next larger area's record, so
// the matches are ranked as a chain (country, continent, default); every other region
// follows by latency, so a client is never left without an answer.

import type { RegionId } from '../../lib/index.js';
import type { RoutingContext } from '../context.js';
import { describe, type Policy } from '../policy.js';
import { latencyReason, orderByLatency } from './latency.js';

interface GeoMatch {
  readonly key: string;
  readonly region: RegionId;
}

/** The keys this client matches, most specific first. An unlocated client matches only
 *  `default`, as in Route 53. */
export function geolocationKeys(ctx: RoutingContext): string[] {
  const at = ctx.query.client.location;
  if (at === null) return ['default'];
  return [`country:${at.country.toUpperCase()}`, `continent:${at.continent}`, 'default'];
}

/** The chain of matched regions among the candidates, most specific first, each once. */
export function geolocationMatches(candidates: readonly RegionId[], ctx: RoutingContext): GeoMatch[] {
  const matches: GeoMatch[] = [];
  for (const key of geolocationKeys(ctx)) {
    const region = ctx.table.geolocation[key];
    if (region === undefined || !candidates.includes(region)) continue;
    if (matches.some((m) => m.region === region)) continue;
    matches.push({ key, region });
  }
  return matches;
}

function matchList(matches: readonly GeoMatch[]): string {
  return matches.map((m) => `${m.key} → ${m.region}`).join(', ');
}

function clientText(ctx: RoutingContext): string {
  const at = ctx.query.client.location;
  return at === null ? 'client location unknown' : `client in ${at.country.toUpperCase()} (${at.continent})`;
}

export const geolocationPolicy: Policy = (candidates, ctx) => {
  const matches = geolocationMatches(candidates, ctx);
  const matched = new Set(matches.map((m) => m.region));
  const rest = orderByLatency(
    candidates.filter((r) => !matched.has(r)),
    ctx,
  );
  const first = matches[0];
  const noMatch = `no geolocation match for ${clientText(ctx)}`;
  return describe([...matches.map((m) => m.region), ...rest], ctx, (region, standing) => {
    const i = matches.findIndex((m) => m.region === region);
    const match = matches[i];
    if (match !== undefined) {
      if (i === 0) return `geolocation match ${match.key} (${clientText(ctx)})`;
      if (!standing.lead) return `geolocation fallback ${match.key}, after ${first?.key ?? ''}`;
      return `geolocation fallback ${match.key}: ${matchList(matches.slice(0, i))} down`;
    }
    const byLatency = latencyReason(region, standing, ctx);
    if (first === undefined) return `${noMatch}; ${byLatency}`;
    return standing.lead ? `every geolocation match is down (${matchList(matches)}); ${byLatency}` : `not a geolocation match; ${byLatency}`;
  });
};
