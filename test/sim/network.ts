// The simulated WAN between regions: every message is delayed, and may be dropped,
// duplicated or overtaken by a later one (independent delays reorder), all by the seed.
// Partitions cut links in both directions until healed. It decides the fate of each
// message when it is sent; the world schedules the deliveries.

export interface NetworkFaults {
  /** Per message. */
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** One-way delay: base plus up to jitter (uniform), ms. Jitter larger than the gap
   *  between two sends reorders them. */
  readonly delayMsBase: number;
  readonly delayMsJitter: number;
}

export const reliable: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayMsBase: 5, delayMsJitter: 10 };

export class SimNetwork {
  /** Cut links, as "a\0b" with a < b. */
  private readonly cut = new Set<string>();
  faults: NetworkFaults;
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly rand: () => number,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  private static link(a: string, b: string): string {
    return a < b ? `${a}\0${b}` : `${b}\0${a}`;
  }

  /** Cuts every link between the two sides. */
  partition(sideA: readonly string[], sideB: readonly string[]): void {
    for (const a of sideA) for (const b of sideB) if (a !== b) this.cut.add(SimNetwork.link(a, b));
  }

  healAll(): void {
    this.cut.clear();
  }

  connected(a: string, b: string): boolean {
    return !this.cut.has(SimNetwork.link(a, b));
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  /** The delays (ms) after which copies of a message from `from` to `to` arrive: none,
   *  one, or two. A partition is checked again at delivery (a link cut meanwhile). */
  fate(from: string, to: string): number[] {
    this.sent++;
    const f = this.faults;
    if (!this.connected(from, to) || this.rand() < f.dropRate) {
      this.dropped++;
      return [];
    }
    const delay = (): number => f.delayMsBase + Math.floor(this.rand() * (f.delayMsJitter + 1));
    if (this.rand() < f.duplicateRate) {
      this.duplicated++;
      return [delay(), delay()];
    }
    return [delay()];
  }
}
