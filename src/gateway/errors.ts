import type { ServerResponse } from 'node:http';
import type { Reply } from './exchange.js';

/** Errors are JSON with a reason a person can act on, and say which region answered. */
export function errorReply(status: number, error: string, reason: string, region: string): Reply {
  const body = Buffer.from(JSON.stringify({ error, reason, region }));
  return {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'cache-control': 'no-store' },
    body,
    servedBy: region,
    route: `error: ${error}`,
    generated: true,
  };
}

/** For errors before a reply exists (bad requests, limits): written straight out. */
export function sendError(res: ServerResponse, status: number, error: string, reason: string, region: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, reason, region });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-meridian-region': region,
    ...extra,
  });
  res.end(body);
}
