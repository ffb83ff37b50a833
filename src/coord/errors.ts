// The coordinator's expected failures, as typed errors with a stable code and what to do
// about each. A region node decides on the code: Conflict means someone else won a race
// (read again), LeaseExpired means leadership is gone (stop writing now), CoordUnavailable
// means nothing is known (keep the current state until the lease's own deadline).

import { MeridianError } from '../lib/index.js';

export type CoordErrorCode = 'coord-unavailable' | 'coord-timeout' | 'coord-conflict' | 'coord-lease-expired' | 'coord-compacted' | 'coord-bad-request';

export class CoordError extends MeridianError {
  constructor(override readonly code: CoordErrorCode, message: string, hint?: string) {
    super(code, message, hint);
    this.name = 'CoordError';
  }
}

/** The coordinator could not be reached or refused to serve; nothing was decided. */
export class CoordUnavailable extends CoordError {
  constructor(message: string, code: 'coord-unavailable' | 'coord-timeout' = 'coord-unavailable') {
    super(code, message, 'retry later; a leader keeps writing only until its lease deadline');
    this.name = 'CoordUnavailable';
  }
}

/**
 * A call ran out of time. Its outcome is unknown: a compare-and-set may have been applied,
 * so read the key again before deciding anything on it.
 */
export class CoordTimeout extends CoordUnavailable {
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms (the outcome is unknown)`, 'coord-timeout');
    this.name = 'CoordTimeout';
  }
}

/** A compare-and-set found a key at another revision than expected (or present/absent). */
export class Conflict extends CoordError {
  constructor(readonly key: string, message = `${key} changed since it was read`) {
    super('coord-conflict', message, 'read the key again and decide on its current revision');
    this.name = 'Conflict';
  }
}

/** The lease is unknown to the coordinator: it expired or was revoked. */
export class LeaseExpired extends CoordError {
  constructor(readonly lease: string) {
    super('coord-lease-expired', `lease ${lease} has expired or was revoked`, 'stop acting on it; grant a new lease and take the keys again');
    this.name = 'LeaseExpired';
  }
}

/** A watch asked for history the coordinator no longer keeps. */
export class Compacted extends CoordError {
  constructor(readonly fromRevision: number, readonly oldestRevision: number) {
    super('coord-compacted', `revision ${fromRevision} is compacted (oldest kept: ${oldestRevision})`, 'list the prefix again and watch from the revision the list returned + 1');
    this.name = 'Compacted';
  }
}

/** A malformed request: a programmer error on the caller's side, never retried. */
export class CoordBadRequest extends CoordError {
  constructor(message: string) {
    super('coord-bad-request', message);
    this.name = 'CoordBadRequest';
  }
}
