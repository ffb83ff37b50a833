// Errors a user can cause carry a stable code and what to do about it; they are values
// the CLI prints and a node turns into a response, never a crash.

export class MeridianError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MeridianError';
  }
}

/** Programmer errors: an invariant the code itself guarantees. Crashes loudly in tests. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };
