// Counters the node exports as metrics: messages in, replies out by rcode. Drops are the
// difference (too short to answer, or a response sent to us).

import type { DnsResponse, DnsServerStats } from './types.js';

export class DnsCounters {
  private queries = 0;
  private readonly responses: Record<string, number> = {};

  record(response: DnsResponse): void {
    this.queries += 1;
    if (response.kind === 'reply') this.responses[response.rcode] = (this.responses[response.rcode] ?? 0) + 1;
  }

  /** A message we could not even try to answer (a bug caught by the shell). */
  recordUnanswered(): void {
    this.queries += 1;
  }

  snapshot(): DnsServerStats {
    return { queries: this.queries, responses: { ...this.responses } };
  }
}
