// Counters the node exports as metrics: messages in, replies out by rcode, truncations.
// Drops are the difference (too short to answer, a response sent to us, or rate-limited;
// the limiter counts its own).

import type { DnsFastPathStats, DnsRateLimitStats, DnsResponse, DnsServerStats } from './types.js';

const noRateLimit: DnsRateLimitStats = { limited: 0, dropped: 0, slipped: 0, prefixes: 0 };
const noFastPath: DnsFastPathStats = { replies: 0, fallbacks: 0 };

export class DnsCounters {
  private queries = 0;
  private truncated = 0;
  private readonly responses: Record<string, number> = {};

  record(response: DnsResponse): void {
    this.queries += 1;
    if (response.kind !== 'reply') return;
    this.responses[response.rcode] = (this.responses[response.rcode] ?? 0) + 1;
    if (response.truncated) this.truncated += 1;
  }

  /** A message we did not answer: a bug caught by the shell, or a rate-limit drop. */
  recordUnanswered(): void {
    this.queries += 1;
  }

  snapshot(rateLimit: DnsRateLimitStats = noRateLimit, fastPath: DnsFastPathStats = noFastPath): DnsServerStats {
    return { queries: this.queries, responses: { ...this.responses }, truncated: this.truncated, rateLimit: { ...rateLimit }, fastPath: { ...fastPath } };
  }
}
