// The deployment models decide what the routing policy is asked, and about which regions:
//
//   active-active    every region serves; the policy ranks them all.
//   active-passive   the primary serves while it is up; the standbys follow in failover
//                    order (or by RTT from the primary), whatever the policy says.
//   geo-partitioned  the region the request's data is homed in serves it while up; the
//                    policy ranks the rest, which is where the request goes if it cannot.

import type { RegionId } from '../lib/index.js';
import { assert, unreachable } from '../lib/index.js';
import type { RoutingContext } from './context.js';
import { describe, sortByKey, type Policy, type PolicyRank } from './policy.js';
import { listedOrder } from './policies/failover.js';
import { ordinal, sinceText } from './wording.js';

/** The model's order of every region, best first, with reasons. */
export function orderByModel(ctx: RoutingContext, policy: Policy): PolicyRank[] {
  const model = ctx.table.model;
  switch (model) {
    case 'active-active':
      return policy(ctx.table.regions, ctx);
    case 'active-passive':
      return activePassive(ctx);
    case 'geo-partitioned':
      return geoPartitioned(ctx, policy);
    default:
      return unreachable(model);
  }
}

function downSince(region: RegionId, ctx: RoutingContext): string {
  return `${region} down${sinceText(ctx.health(region)?.sinceMs)}`;
}

/** The primary as configured; a table without one (topology requires it, so this is a
 *  slip) falls back to the head of the failover order, then the first region. */
function primaryOf(ctx: RoutingContext): { region: RegionId; configured: boolean } {
  const { primary, failoverOrder, regions } = ctx.table;
  if (primary !== undefined && regions.includes(primary)) return { region: primary, configured: true };
  const fallback = listedOrder(regions, failoverOrder ?? [])[0] ?? regions[0];
  assert(fallback !== undefined, 'routing table has no regions');
  return { region: fallback, configured: false };
}

function activePassive(ctx: RoutingContext): PolicyRank[] {
  const { region: primary, configured } = primaryOf(ctx);
  const others = ctx.table.regions.filter((r) => r !== primary);
  const listed = listedOrder(others, ctx.table.failoverOrder ?? []);
  // Standbys the order leaves out (or all of them, with no order) follow by RTT from the
  // primary: the nearest standby is the cheapest to replicate to and to fail over to.
  const unlisted = sortByKey(
    others.filter((r) => !listed.includes(r)),
    ctx,
    (r) => primaryRtt(primary, r, ctx)?.ms ?? null,
  );
  const hasOrder = listed.length > 0;
  const primaryReason = configured ? 'active-passive: primary serves' : `active-passive: no primary configured, ${primary} stands in as primary`;
  return describe([primary, ...listed, ...unlisted], ctx, (region, { lead }) => {
    if (region === primary) return primaryReason;
    const i = listed.indexOf(region);
    const place =
      i >= 0
        ? `${ordinal(i + 1)} standby in failover order`
        : `standby${hasOrder ? ' not in failover order' : ''}, ${rttFromPrimaryText(primary, region, ctx)}`;
    if (!lead) return place;
    const which = i >= 0 ? 'first healthy standby in failover order' : `first healthy standby by RTT from the primary, ${rttFromPrimaryText(primary, region, ctx)}`;
    return `primary ${downSince(primary, ctx)}: ${which}${i > 0 ? ` (${ordinal(i + 1)} standby)` : ''}`;
  });
}

function primaryRtt(primary: RegionId, region: RegionId, ctx: RoutingContext) {
  const model = ctx.table.latency;
  // regionRtt throws for a region the model has no coordinates for; such a standby goes last.
  if (model.location(primary) === undefined || model.location(region) === undefined) return null;
  return model.regionRtt(primary, region);
}

function rttFromPrimaryText(primary: RegionId, region: RegionId, ctx: RoutingContext): string {
  const rtt = primaryRtt(primary, region, ctx);
  if (rtt === null) return `RTT from primary ${primary} unknown (no coordinates)`;
  return `${rtt.ms} ms from primary ${primary} (${rtt.source})`;
}

function geoPartitioned(ctx: RoutingContext, policy: Policy): PolicyRank[] {
  const home = ctx.query.homeRegion;
  const regions = ctx.table.regions;
  if (home === undefined) return policy(regions, ctx);
  if (!regions.includes(home)) {
    return prefixLeader(policy(regions, ctx), ctx, `home region ${home} is not in this deployment`);
  }
  const rest = policy(
    regions.filter((r) => r !== home),
    ctx,
  );
  const homeRank: PolicyRank = { region: home, reason: "home region of the request's data" };
  if (ctx.isUp(home)) return [homeRank, ...rest];
  // The home stays at the head of the model's order: route() moves it after the healthy
  // regions, and if every region is down it leads the fail-open answer.
  return [homeRank, ...prefixLeader(rest, ctx, `home ${downSince(home, ctx)}`)];
}

/** Says why the first healthy region of `ranks` is standing in. */
function prefixLeader(ranks: readonly PolicyRank[], ctx: RoutingContext, why: string): PolicyRank[] {
  const leader = ranks.find((r) => ctx.isUp(r.region));
  return ranks.map((r) => (r === leader ? { region: r.region, reason: `${why}: ${r.reason}` } : r));
}
