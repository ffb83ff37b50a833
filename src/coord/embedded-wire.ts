// The embedded coordinator's HTTP protocol, shared by its server and client: one POST per
// command under /coord/v1/, JSON both ways, every request signed with the mesh secret.
// The server parses with these schemas (a signed caller can still send nonsense); the
// client reads the core's Reply back.

import { z } from 'zod';
import { leaseId } from './coordinator.js';
import type { Command, Failure } from './embedded-core.js';

export const coordPathPrefix = '/coord/v1/';
/** A bound on request bodies: a commit of 128 operations of 64 KiB values fits. */
export const maxRequestBytes = 9 * 1024 * 1024;
/** The longest a watch request waits for a change before answering with none. */
export const maxWatchWaitMs = 30_000;

const key = z.string().min(1);
const lease = z.string().min(1).transform(leaseId);
const expectation = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('absent') }),
  z.strictObject({ kind: z.literal('present') }),
  z.strictObject({ kind: z.literal('revision'), modRevision: z.number().int().min(1) }),
]);

const commitBody = z.strictObject({
  checks: z.array(z.strictObject({ key, expect: expectation })),
  puts: z.array(z.strictObject({ key, value: z.string(), lease: lease.optional() })),
  deletes: z.array(key),
});

export const watchBody = z.strictObject({
  prefix: z.string(),
  /** Omitted: from the next change on. */
  fromRevision: z.number().int().min(1).optional(),
  waitMs: z.number().int().min(0).max(maxWatchWaitMs),
});
export type WatchBody = z.output<typeof watchBody>;

/** Each endpoint (the path after the prefix) and how its body becomes a core command. */
export const endpoints = {
  'lease/grant': z.strictObject({ ttlMs: z.number().int() }).transform((b): Command => ({ kind: 'grant', ttlMs: b.ttlMs })),
  'lease/keepalive': z.strictObject({ lease }).transform((b): Command => ({ kind: 'keepalive', lease: b.lease })),
  'lease/revoke': z.strictObject({ lease }).transform((b): Command => ({ kind: 'revoke', lease: b.lease })),
  get: z.strictObject({ key }).transform((b): Command => ({ kind: 'get', key: b.key })),
  list: z.strictObject({ prefix: z.string() }).transform((b): Command => ({ kind: 'list', prefix: b.prefix })),
  commit: commitBody.transform((b): Command => ({ kind: 'commit', commit: b })),
} as const;
export type Endpoint = keyof typeof endpoints | 'watch';

/** A failure's HTTP status: the client maps it back to the typed error. */
export function failureStatus(f: Failure): number {
  switch (f.code) {
    case 'conflict':
      return 409;
    case 'lease-expired':
      return 404;
    case 'compacted':
      return 410;
    case 'bad-request':
      return 400;
  }
}
