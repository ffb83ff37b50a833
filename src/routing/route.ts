// route(): client location + region health + deployment model + policy -> regions ranked,
// each with the reason. PURE: no clock, no randomness, no I/O; DNS and the gateway both
// ask it, and nothing else decides where a client goes.
//
// Composition: the policy orders regions (policies/), the deployment model decides which
// regions the policy is asked about and what comes first (deployment.ts), the health
// partition puts up before down and fails open when nothing is up (health.ts), and the
// answer and summary are read off the result.

import type { RegionId } from '../lib/index.js';
import { assert, unreachable } from '../lib/index.js';
import { makeContext, type RoutingContext } from './context.js';
import { orderByModel } from './deployment.js';
import { failOpenCount, failOpenHeadline, partitionByHealth } from './health.js';
import { failoverPolicy } from './policies/failover.js';
import { geolocationPolicy } from './policies/geolocation.js';
import { latencyPolicy } from './policies/latency.js';
import { multivaluePolicy } from './policies/multivalue.js';
import { proximityPolicy } from './policies/proximity.js';
import { weightedPolicy } from './policies/weighted.js';
import type { Policy, PolicyRank } from './policy.js';
import { multivalueMax, type RankedRegion, type RoutingDecision, type RoutingPolicyName, type RoutingQuery, type RoutingTable } from './types.js';

export function policyFor(name: RoutingPolicyName): Policy {
  switch (name) {
    case 'latency':
      return latencyPolicy;
    case 'proximity':
      return proximityPolicy;
    case 'geolocation':
      return geolocationPolicy;
    case 'weighted':
      return weightedPolicy;
    case 'failover':
      return failoverPolicy;
    case 'multivalue':
      return multivaluePolicy;
    default:
      return unreachable(name);
  }
}

export function route(table: RoutingTable, query: RoutingQuery): RoutingDecision {
  assert(table.regions.length > 0, 'routing table has no regions');
  assert(new Set(table.regions).size === table.regions.length, `routing table lists a region twice: ${table.regions.join(', ')}`);
  const ctx = makeContext(table, query);

  const order = orderByModel(ctx, policyFor(table.policy));
  assertPermutation(order, table.regions);

  const { ranked, allDown } = partitionByHealth(order, ctx);
  const answer = allDown ? ranked.slice(0, failOpenCount(ranked.length)).map((r) => r.region) : healthyAnswer(ranked, table);
  const decision: RoutingDecision = {
    ranked: answersMany(table) && !allDown ? markUnanswered(ranked, answer) : ranked,
    answer,
    allDown,
    policy: table.policy,
    model: table.model,
    summary: allDown ? failOpenSummary(ranked, table) : summarise(ranked, answer, order, ctx),
  };
  assertDecision(decision);
  return decision;
}

/** Multivalue hands out up to eight healthy regions, every other policy the first. Not
 *  under active-passive: there the standbys must not take traffic while the primary is up,
 *  so the model answers with one region whatever the policy. */
function answersMany(table: RoutingTable): boolean {
  return table.policy === 'multivalue' && table.model !== 'active-passive';
}

function healthyAnswer(ranked: readonly RankedRegion[], table: RoutingTable): RegionId[] {
  const up = ranked.filter((r) => r.up).map((r) => r.region);
  return up.slice(0, answersMany(table) ? multivalueMax : 1);
}

function markUnanswered(ranked: readonly RankedRegion[], answer: readonly RegionId[]): RankedRegion[] {
  return ranked.map((r) => (r.up && !answer.includes(r.region) ? { ...r, reason: `${r.reason}; healthy but not answered: at most ${multivalueMax} records` } : r));
}

function decider(leader: RegionId, ctx: RoutingContext): string {
  const { model, policy } = ctx.table;
  if (model === 'active-passive') return 'active-passive';
  if (model === 'geo-partitioned' && leader === ctx.query.homeRegion) return 'geo-partitioned home';
  return `${policy} policy${model === 'geo-partitioned' ? ' (geo-partitioned)' : ''}`;
}

/** One line: who answers first, why, and which down regions the order passed over. */
function summarise(ranked: readonly RankedRegion[], answer: readonly RegionId[], order: readonly PolicyRank[], ctx: RoutingContext): string {
  const first = ranked[0];
  assert(first !== undefined && first.up, 'a healthy decision starts with a healthy region');
  const leaderAt = order.findIndex((p) => p.region === first.region);
  const passedOver = order.slice(0, leaderAt).map((p) => p.region);
  const who = answer.length > 1 ? `${first.region} first of ${answer.length} healthy answers (${answer.join(', ')})` : first.region;
  const skipped = passedOver.length > 0 ? `; passed over down: ${passedOver.join(', ')}` : '';
  return `${decider(first.region, ctx)} → ${who}: ${first.reason}${skipped}`;
}

function failOpenSummary(ranked: readonly RankedRegion[], table: RoutingTable): string {
  const order = table.model === 'active-passive' ? 'active-passive' : `${table.policy} policy`;
  return `${failOpenHeadline(ranked.length)}, ${order} order: ${ranked.slice(0, failOpenCount(ranked.length)).map((r) => r.region).join(', ')}`;
}

function assertPermutation(order: readonly PolicyRank[], regions: readonly RegionId[]): void {
  const seen = new Set(order.map((p) => p.region));
  assert(order.length === regions.length && seen.size === regions.length && regions.every((r) => seen.has(r)), `the model's order is not a permutation of the regions: ${order.map((p) => p.region).join(', ')}`);
}

/** The postconditions every caller relies on (DESIGN §4). */
function assertDecision(d: RoutingDecision): void {
  const firstDown = d.ranked.findIndex((r) => !r.up);
  assert(firstDown === -1 || d.ranked.slice(firstDown).every((r) => !r.up), 'a down region is ranked above an up one');
  assert(d.allDown === d.ranked.every((r) => !r.up), 'allDown says otherwise than the ranking');
  assert(d.answer.length > 0 && d.answer.length <= multivalueMax, `answer holds ${d.answer.length} regions`);
  assert(d.allDown || d.ranked.filter((r) => d.answer.includes(r.region)).every((r) => r.up), 'a down region is answered while one is up');
  assert(d.ranked.every((r) => r.reason.length > 0), 'a rank without a reason');
}
