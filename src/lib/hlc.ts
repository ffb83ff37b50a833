// Hybrid logical clocks (Kulkarni et al., 2014). PURE: physical time comes in as an
// argument. A version is (wall ms, logical counter, region): it follows physical time
// closely, never goes backwards on one node, is ahead of every version the node has seen,
// and the region breaks ties, so any two versions are ordered the same way everywhere —
// which is what last-writer-wins needs.

export interface Hlc {
  readonly wall: number;
  readonly logical: number;
  readonly region: string;
}

export const zeroHlc: Hlc = { wall: 0, logical: 0, region: '' };

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.region < b.region ? -1 : a.region > b.region ? 1 : 0;
}

export function sameHlc(a: Hlc | null | undefined, b: Hlc | null | undefined): boolean {
  const noA = a === null || a === undefined;
  const noB = b === null || b === undefined;
  if (noA || noB) return noA && noB;
  return compareHlc(a, b) === 0;
}

/** `wall.logical.region`: what clients see as a row's version, and pass back in if-match. */
export function formatHlc(h: Hlc): string {
  return `${h.wall}.${h.logical}.${h.region}`;
}

const hlcText = /^(\d{1,15})\.(\d{1,9})\.([a-z0-9][a-z0-9-]{0,62})$/;

export function parseHlc(s: string): Hlc | null {
  const m = hlcText.exec(s);
  if (m === null) return null;
  return { wall: Number(m[1]), logical: Number(m[2]), region: m[3] as string };
}

/** The offset of a remote clock beyond the tolerated maximum. */
export class ClockOffsetError extends Error {
  constructor(
    readonly remote: Hlc,
    readonly offsetMs: number,
    readonly maxOffsetMs: number,
  ) {
    super(`a version from ${remote.region} is ${offsetMs} ms ahead of this clock (max offset ${maxOffsetMs} ms)`);
    this.name = 'ClockOffsetError';
  }
}

/**
 * One node's clock. `now()` stamps a local event, `observe()` folds in a version received
 * from elsewhere. A remote version further ahead than `maxOffsetMs` is refused rather than
 * adopted: adopting it would drag this node's versions into the future, and a clock that
 * far off is a fault to report, not to follow.
 */
export class HlcClock {
  private last: Hlc;

  constructor(
    readonly region: string,
    readonly maxOffsetMs: number,
    start: Hlc = zeroHlc,
  ) {
    this.last = { wall: start.wall, logical: start.logical, region };
  }

  current(): Hlc {
    return this.last;
  }

  now(physicalMs: number): Hlc {
    const p = Math.floor(physicalMs);
    this.last = p > this.last.wall ? { wall: p, logical: 0, region: this.region } : { wall: this.last.wall, logical: this.last.logical + 1, region: this.region };
    return this.last;
  }

  /** Throws ClockOffsetError (and keeps its state) when `remote` is too far ahead. */
  observe(remote: Hlc, physicalMs: number): Hlc {
    const p = Math.floor(physicalMs);
    const ahead = remote.wall - p;
    if (ahead > this.maxOffsetMs) throw new ClockOffsetError(remote, ahead, this.maxOffsetMs);
    const wall = Math.max(p, this.last.wall, remote.wall);
    let logical: number;
    if (wall === this.last.wall && wall === remote.wall) logical = Math.max(this.last.logical, remote.logical) + 1;
    else if (wall === this.last.wall) logical = this.last.logical + 1;
    else if (wall === remote.wall) logical = remote.logical + 1;
    else logical = 0;
    this.last = { wall, logical, region: this.region };
    return this.last;
  }
}
