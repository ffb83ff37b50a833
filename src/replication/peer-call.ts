// One replication request to a peer over the mesh: a signed POST of a JSON body, its
// answer checked against a schema. Anything but a 200 with a valid body is an error the
// caller's state machine treats as a failure.

import type { z } from 'zod';
import { regionId } from '../lib/index.js';
import type { MeshClient } from '../mesh/index.js';
import { parseAs } from './wire.js';

export class PeerCallError extends Error {
  constructor(
    readonly peer: string,
    readonly path: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${peer} ${path}: ${status} ${detail}`);
    this.name = 'PeerCallError';
  }
}

/** A body already serialised as JSON (a batch: see batchJson). */
export class RawJson {
  constructor(readonly text: string) {}
}

export async function callPeer<T>(mesh: MeshClient, to: string, path: string, body: unknown, schema: z.ZodType<T>, timeoutMs: number): Promise<T> {
  const payload = body instanceof RawJson ? body.text : JSON.stringify(body);
  const res = await mesh.request(regionId(to), { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: payload, timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new PeerCallError(to, path, res.statusCode, text.slice(0, 300));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PeerCallError(to, path, res.statusCode, 'answer is not JSON');
  }
  return parseAs(raw, schema);
}
