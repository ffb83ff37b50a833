// Upgrades (WebSocket and others) pass through: the request head is written to the
// upstream as received (hop-by-hop headers kept: Upgrade and Connection are the point),
// plus the forwarding headers, and then bytes flow both ways untouched.

import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface UpgradeTarget {
  readonly host: string;
  readonly port: number;
  /** Added to the request head (forwarding, mesh credentials). */
  readonly headers: Record<string, string>;
  /** Removed from the request head (the mesh's own headers, at the last hop). */
  readonly drop?: readonly string[];
}

export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, target: UpgradeTarget, connectTimeoutMs: number, onRefused: () => void): void {
  const upstream: Socket = connect({ host: target.host, port: target.port });
  const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), connectTimeoutMs);
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    const raw = req.rawHeaders;
    const overridden = new Set([...Object.keys(target.headers), ...(target.drop ?? [])].map((k) => k.toLowerCase()));
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (!overridden.has((raw[i] as string).toLowerCase())) lines.push(`${raw[i]}: ${raw[i + 1]}`);
    }
    for (const [k, v] of Object.entries(target.headers)) lines.push(`${k}: ${v}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  const close = (): void => {
    clearTimeout(timer);
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', () => {
    if (!connected) onRefused();
    close();
  });
  client.on('error', close);
  upstream.on('close', close);
  client.on('close', close);
}

export function rejectUpgrade(client: Duplex, status: number, error: string, reason: string, region: string): void {
  const body = JSON.stringify({ error, reason, region });
  const text = { 401: 'Unauthorized', 502: 'Bad Gateway', 503: 'Service Unavailable' }[status] ?? 'Error';
  client.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nx-meridian-region: ${region}\r\n\r\n${body}`);
}
