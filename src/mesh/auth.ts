// Mesh authentication. PURE: time comes in as an argument.
//
// Every region-to-region request carries an HMAC-SHA256 over (from, timestamp, method,
// path) with the secret the regions share. The secret itself never crosses the wire, a
// captured signature is useless after the window, and it cannot be replayed on another
// path. Operator tools (a Prometheus scrape, curl) may instead present the secret as a
// bearer token, which is why the mesh should run on a private network or behind TLS.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const headerFrom = 'x-meridian-from';
export const headerTs = 'x-meridian-ts';
export const headerSig = 'x-meridian-sig';

/** Clock difference tolerated between regions; wide enough for a clock-skew drill. */
export const signatureWindowMs = 5 * 60_000;

export function sign(secret: string, from: string, method: string, path: string, nowMs: number): Record<string, string> {
  const ts = String(Math.floor(nowMs));
  return { [headerFrom]: from, [headerTs]: ts, [headerSig]: mac(secret, from, ts, method, path) };
}

export type AuthResult = { ok: true; from: string } | { ok: false; reason: string };

type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

export function verify(secret: string, headers: HeaderBag, method: string, path: string, nowMs: number): AuthResult {
  const from = one(headers[headerFrom]);
  const ts = one(headers[headerTs]);
  const sig = one(headers[headerSig]);
  // A signed request is judged by its signature alone: its Authorization header, if any,
  // belongs to the user whose request a region forwarded, not to the mesh.
  if (from !== undefined || ts !== undefined || sig !== undefined) {
    if (from === undefined || ts === undefined || sig === undefined) return { ok: false, reason: 'incomplete signature' };
    const t = Number(ts);
    if (!Number.isFinite(t) || Math.abs(nowMs - t) > signatureWindowMs) return { ok: false, reason: 'timestamp outside the window' };
    return constantTimeEqual(sig, mac(secret, from, ts, method, path)) ? { ok: true, from } : { ok: false, reason: 'bad signature' };
  }
  const bearer = one(headers.authorization);
  if (bearer === undefined) return { ok: false, reason: 'no credentials' };
  const m = /^Bearer (.+)$/.exec(bearer);
  return m !== null && constantTimeEqual(m[1] as string, secret) ? { ok: true, from: 'operator' } : { ok: false, reason: 'bad bearer token' };
}

/** The mesh's own headers: removed before a forwarded request reaches an application. */
export const meshHeaders: readonly string[] = [headerFrom, headerTs, headerSig];

function mac(secret: string, from: string, ts: string, method: string, path: string): string {
  return createHmac('sha256', secret).update(`${from}\n${ts}\n${method.toUpperCase()}\n${path}`).digest('hex');
}

/** Compares secrets without leaking where they differ through timing. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
