// The gateway's HTTP server: Node's parser under the configured limits, a JSON answer
// for every request it refuses (oversized headers, smuggling attempts, bad chunking,
// slow headers), and upgrades passed through.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GatewayConfig } from '../topology/index.js';

export interface EdgeServerHooks {
  readonly region: string;
  readonly onRequest: Parameters<typeof createServer>[1];
  readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly onRefused: (code: string) => void;
}

/** Parser errors and what to tell the client. Everything else is a plain 400. */
const refusals: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'request headers over gateway.max_header_size'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'bad_framing', 'both Content-Length and Transfer-Encoding, or several Content-Length values: refused (request smuggling)'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'bad_framing', 'a Transfer-Encoding other than chunked last: refused (request smuggling)'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'bad_framing', 'an invalid Content-Length'],
  HPE_INVALID_CHUNK_SIZE: [400, 'bad_chunking', 'an invalid chunk size in a chunked body'],
  HPE_STRICT: [400, 'bad_framing', 'a malformed request'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request did not arrive in time (gateway.header_timeout / request_timeout)'],
};

export function createEdgeServer(cfg: GatewayConfig, hooks: EdgeServerHooks): Server {
  const server = createServer(
    {
      maxHeaderSize: cfg.max_header_size,
      headersTimeout: cfg.header_timeout,
      requestTimeout: cfg.request_timeout,
      // Node's default parser is strict: it refuses CL+TE together, duplicate
      // Content-Length, obs-fold and bad chunk sizes. Never the lenient one.
      insecureHTTPParser: false,
      keepAliveTimeout: 5000,
      // How often Node checks those timeouts (default 30 s): often enough that a slow
      // client is cut off close to header_timeout.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(cfg.header_timeout / 4))),
    },
    hooks.onRequest,
  );
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const code = err.code ?? 'HPE_STRICT';
    hooks.onRefused(code);
    if (!socket.writable || code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, error, reason] = refusals[code] ?? [400, 'bad_request', `malformed request (${code})`];
    const body = JSON.stringify({ error, reason, region: hooks.region });
    const text = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status] ?? 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nx-meridian-region: ${hooks.region}\r\n\r\n${body}`);
  });
  server.on('upgrade', hooks.onUpgrade);
  return server;
}
