// Parsing replication messages off the wire. Every body is read with a size bound and
// checked against its schema before any of it reaches the store: a malformed or oversized
// request gets a clear JSON error, never a crash or a half-applied batch.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { bucketCount } from '../store/index.js';

/** The largest body a replication endpoint reads: a full batch (maxBatch <= 4096 changes)
 *  of reasonable rows fits; a larger one is refused with 413 and its sender must split it. */
export const maxBodyBytes = 32 * 1024 * 1024;
/** The most entries one repair request may name or carry. */
export const maxRepairEntries = 4096;
/** The most buckets one bucket request may ask for (one class's worth). */
export const maxBucketsPerRequest = bucketCount;

const seq = z.number().int().nonnegative();
const text = z.string().max(1024);
const hlc = z.object({ wall: z.number().int().nonnegative(), logical: z.number().int().nonnegative(), region: text });

const rowChange = z.object({
  kind: z.literal('row'),
  table: text,
  key: text,
  value: z.string().nullable(),
  version: hlc,
  prev: hlc.nullable(),
  home: text.nullable(),
  /** The leadership epoch the change was written under (home rows; 0 otherwise). */
  epoch: z.number().int().nonnegative().optional(),
});
const counterChange = z.object({
  kind: z.literal('counter'),
  table: text,
  key: text,
  slot: text,
  p: z.number().nonnegative(),
  n: z.number().nonnegative(),
  version: hlc,
});
const change = z.discriminatedUnion('kind', [rowChange, counterChange]);
const logged = z.discriminatedUnion('kind', [rowChange.extend({ seq, committedMs: z.number() }), counterChange.extend({ seq, committedMs: z.number() })]);

export const batchBody = z.object({
  source: text,
  id: seq,
  firstSeq: z.number().int().positive(),
  lastSeq: seq,
  sourceMs: z.number(),
  changes: z.array(logged).max(4096),
});

export const batchReplyBody = z.discriminatedUnion('result', [
  z.object({ result: z.literal('applied'), applied: seq }),
  z.object({ result: z.literal('duplicate'), applied: seq }),
  z.object({ result: z.literal('gap'), expected: z.number().int().positive() }),
]);

const digestHex = z.string().regex(/^[0-9a-f]{16}$/);
export const digestReplyBody = z.object({
  classes: z.array(z.object({ table: text, home: text.nullable(), counter: z.boolean(), digest: z.array(digestHex).length(bucketCount) })).max(100_000),
});

const bucketRef = z.object({ table: text, home: text.nullable(), counter: z.boolean(), bucket: z.number().int().min(0).max(bucketCount - 1) });
export const bucketsBody = z.object({ buckets: z.array(bucketRef).max(maxBucketsPerRequest) });
export const bucketsReplyBody = z.object({
  buckets: z.array(bucketRef.extend({ entries: z.array(z.object({ key: text, slot: text.nullable(), version: hlc })) })),
});

export const entriesBody = z.object({ entries: z.array(z.object({ table: text, key: text, slot: text.nullable() })).max(maxRepairEntries) });
export const changesBody = z.object({ changes: z.array(change).max(maxRepairEntries) });
export const snapshotDoneBody = z.object({ seq, sourceMs: z.number() });
export const appliedReplyBody = z.object({ applied: seq });

/** A request the endpoint refuses, with its status and a reason the caller can act on. */
export class WireError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

export async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) throw new WireError(413, 'too_large', `replication bodies are at most ${maxBodyBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > maxBodyBytes) throw new WireError(413, 'too_large', `replication bodies are at most ${maxBodyBytes} bytes`);
    chunks.push(b);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new WireError(400, 'bad_json', 'the body must be JSON');
  }
  return parseAs(raw, schema);
}

export function parseAs<T>(raw: unknown, schema: z.ZodType<T>): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new WireError(400, 'bad_request', `invalid body at ${first === undefined ? '(root)' : first.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const t = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t), 'cache-control': 'no-store' });
  res.end(t);
}
