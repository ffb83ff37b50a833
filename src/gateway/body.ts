// Reading a request body under the gateway's limits: refused beyond max_body_size,
// buffered up to replay_max_body (so the request can be replayed or retried), streamed
// beyond that — the first chunks already read are sent first, then the rest as it comes.

import type { IncomingMessage } from 'node:http';
import type { RequestBody } from './exchange.js';

export class BodyTooLarge extends Error {}

export const noBody: RequestBody = { kind: 'none' };

/** No body to read (most requests): known without a promise. */
export function declaresNoBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return cl === undefined ? req.headers['transfer-encoding'] === undefined : cl === '0';
}

export async function readRequestBody(req: IncomingMessage, maxBytes: number, bufferBytes: number): Promise<RequestBody> {
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  if (declared !== null && declared > maxBytes) throw new BodyTooLarge();
  if (declared === 0 || (declared === null && req.headers['transfer-encoding'] === undefined)) {
    return noBody;
  }
  if (declared !== null && declared > bufferBytes) return { kind: 'stream', chunks: limited(req, [], 0, maxBytes) };
  const chunks: Buffer[] = [];
  let size = 0;
  const it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const r = await it.next();
    if (r.done === true) break;
    size += r.value.length;
    if (size > maxBytes) throw new BodyTooLarge();
    chunks.push(r.value);
    if (size > bufferBytes) return { kind: 'stream', chunks: limited({ [Symbol.asyncIterator]: () => it }, chunks, size, maxBytes) };
  }
  return size === 0 ? { kind: 'none' } : { kind: 'buffered', bytes: Buffer.concat(chunks, size) };
}

async function* limited(rest: AsyncIterable<Buffer>, first: Buffer[], already: number, maxBytes: number): AsyncIterable<Buffer> {
  yield* first;
  let size = already;
  for await (const chunk of rest) {
    size += chunk.length;
    // A body that outgrows the limit mid-stream aborts the upstream request: it must not
    // arrive whole.
    if (size > maxBytes) throw new BodyTooLarge();
    yield chunk;
  }
}
