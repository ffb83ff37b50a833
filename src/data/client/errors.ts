// The one error the client SDK throws for anything the data API or the network did:
// a typed value an application can branch on (`code`), show (`reason`), and decide
// whether to try again (`retryable`) without parsing messages.

/**
 * What went wrong with a data API call.
 *
 * - `status` is the HTTP status, or 0 when no answer came (network error, timeout).
 * - `code` is the API's error code (`not_found`, `unknown_table`, `version_conflict`,
 *   `residency`, `leader_unreachable`, `not_fresh`, ...), or the client's own:
 *   `network`, `timeout`, `bad_response`, `http_<status>` for a body that was not the
 *   API's JSON error.
 * - `retryable` is true when the same call may succeed later (no answer, 502, 503,
 *   504). The client has already retried such calls `retries` times before throwing.
 * - `current` is set on `version_conflict`: the row's version now, or null when it has
 *   no row (a conditional put lost the race, or `ifAbsent` found one).
 */
export class MeridianDataError extends Error {
  override readonly name = 'MeridianDataError';
  readonly status: number;
  readonly code: string;
  readonly reason: string;
  readonly retryable: boolean;
  /** version_conflict: the row's current version (null: no such row). */
  readonly current: string | null | undefined;
  /** The region that answered (`x-meridian-served-by`), when one did. */
  readonly servedBy: string | null;

  constructor(init: { status: number; code: string; reason: string; retryable: boolean; current?: string | null; servedBy?: string | null; cause?: unknown }) {
    super(`${init.code}${init.status === 0 ? '' : ` (${init.status})`}: ${init.reason}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.reason = init.reason;
    this.retryable = init.retryable;
    this.current = init.current;
    this.servedBy = init.servedBy ?? null;
  }
}

/** Statuses worth another attempt: the node or the path to it is briefly unable. */
export const retryableStatuses: ReadonlySet<number> = new Set([502, 503, 504]);
