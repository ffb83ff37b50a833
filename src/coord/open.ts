// Which coordinator a region node uses, from the topology's coord section: the embedded
// one at the address its supervisor gave (`meridian node --coord host:port`), or etcd.

import { EmbeddedCoordinator } from './embedded-client.js';
import { EtcdCoordinator } from './etcd.js';
import type { Coordinator } from './coordinator.js';

export type CoordConfig =
  | { readonly kind: 'embedded'; readonly lease_ttl: number }
  | { readonly kind: 'etcd'; readonly endpoints: readonly string[]; readonly prefix: string; readonly lease_ttl: number };

export interface OpenCoordOptions {
  /** The embedded coordinator's address (`--coord`); required for kind embedded. */
  readonly address?: { readonly host: string; readonly port: number };
  readonly secret: string;
  /** This region's id, named in every signature to the embedded coordinator. */
  readonly from: string;
  readonly callTimeoutMs?: number;
}

/** A coordinator, or why there is none (a message that says what to pass). */
export function openCoordinator(config: CoordConfig, o: OpenCoordOptions): Coordinator | string {
  const timeout = o.callTimeoutMs === undefined ? {} : { callTimeoutMs: o.callTimeoutMs };
  switch (config.kind) {
    case 'embedded':
      if (o.address === undefined) return 'coord.kind is embedded, but no --coord host:port was given (meridian dev passes its coordinator\'s address)';
      return new EmbeddedCoordinator({ address: o.address, secret: o.secret, from: o.from, ...timeout });
    case 'etcd':
      return new EtcdCoordinator({ endpoints: config.endpoints, prefix: config.prefix, ...timeout });
  }
}

/** Parses `host:port` (IPv6 in brackets), as --coord takes it. */
export function parseCoordAddress(text: string): { host: string; port: number } | string {
  const m = /^(\[[0-9a-f:.]+\]|[0-9.]+|localhost):(\d{1,5})$/i.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65535) return `--coord: ${JSON.stringify(text)} is not host:port`;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}
