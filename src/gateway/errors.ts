import type { ServerResponse } from 'node:http';

export type GatewayErrorCode =
  | 'body_too_large'
  | 'bad_gateway'
  | 'no_healthy_region'
  | 'gateway_timeout'
  | 'app_down';

const statusOf: Record<GatewayErrorCode, number> = {
  body_too_large: 413,
  bad_gateway: 502,
  no_healthy_region: 503,
  app_down: 503,
  gateway_timeout: 504,
};

/** Errors are JSON with a reason a person can act on, and say which region answered. */
export function sendError(res: ServerResponse, code: GatewayErrorCode, reason: string, region: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: code, reason, region });
  res.writeHead(statusOf[code], {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-meridian-region': region,
    ...extra,
  });
  res.end(body);
}
