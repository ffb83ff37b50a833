// The WAN emulator of the local world (DESIGN.md §6). This kernel has no netem, so
// inter-region latency, jitter and partitions are injected in user space: one TCP relay
// per ordered pair of regions. Region `from` dials the relay's `listen` address to reach
// region `to`'s real address `target`; every chunk, each way, is held for half the
// round trip (plus jitter) and released in order, so a request and its response see one
// full RTT and the byte stream is never reordered.
//
// Partitions act on the pair in both directions, since a connection on a->b carries
// replies b->a as well:
// - 'blackhole': nothing is delivered, sockets stay open so callers' timeouts fire; new
//   connections are accepted (the relay's kernel answers the SYN) but never reach the
//   target. On heal those connections are reset: they lost bytes, and resuming them
//   would hand the application a corrupted stream.
// - 'reset': existing connections are reset and new ones are reset on accept.
//
// Not modelled: the TCP handshake itself costs no RTT (the relay's kernel accepts the
// client locally), bandwidth limits and loss.

import net from 'node:net';
import { MeridianError, assert, mulberry32 } from '../lib/index.js';
import type { RegionId } from '../lib/index.js';
import { RelayConnection, resetSocket } from './wan-relay.js';
import type { RelayCounters } from './wan-relay.js';

export interface WanLinkSpec {
  from: RegionId;
  to: RegionId;
  /** Where the relay listens; port 0 picks a free port, returned by addLink. */
  listen: { host: string; port: number };
  /** The real address of region `to`. */
  target: { host: string; port: number };
  rttMs: number;
  /** Width of the uniform jitter band around rttMs/2, per direction; default 0. */
  jitterMs?: number;
}

export type PartitionMode = 'blackhole' | 'reset';

export interface WanLinkStats {
  from: RegionId;
  to: RegionId;
  /** The address the relay is bound to (the real port when the spec asked for 0). */
  listen: { host: string; port: number };
  rttMs: number;
  jitterMs: number;
  partitioned: PartitionMode | null;
  connectionsOpen: number;
  connectionsTotal: number;
  /** Bytes delivered to the target (from -> to). */
  bytesForward: number;
  /** Bytes delivered back to the client (to -> from). */
  bytesBackward: number;
  /** Bytes held in-process right now, every connection and direction of this link. */
  heldBytes: number;
  /** Most bytes ever held for one direction of one connection; stays near the bound. */
  heldBytesPeak: number;
  /** Socket errors seen (refused targets, resets); each one reset its connection. */
  errorsTotal: number;
}

export type WanEvent = { kind: 'partition' | 'heal' | 'latency'; a: RegionId; b: RegionId; detail: string };

export interface WanEmulatorOptions {
  /** Seeds the jitter, so a drill's latency draws replay from its seed. */
  seed?: number;
  /** Bound on bytes held per direction of a connection; the reader is paused above it. */
  maxBufferedBytesPerConnection?: number;
  onEvent?: (e: WanEvent) => void;
}

export const defaultMaxBufferedBytesPerConnection = 4 * 1024 * 1024;

interface Link {
  from: RegionId;
  to: RegionId;
  target: { host: string; port: number };
  listen: { host: string; port: number };
  rttMs: number;
  jitterMs: number;
  server: net.Server;
  connections: Set<RelayConnection>;
  connectionsTotal: number;
  counters: RelayCounters;
  /** Settles when listen() has; close() waits for it so no listener starts after close. */
  listening: Promise<void>;
}

const pairKey = (from: RegionId, to: RegionId): string => `${from}\n${to}`;

function checkLatency(rttMs: number, jitterMs: number): void {
  if (!Number.isFinite(rttMs) || rttMs < 0 || !Number.isFinite(jitterMs) || jitterMs < 0) {
    throw new MeridianError(
      'WAN_BAD_LATENCY',
      `latency must be finite and non-negative (rtt ${rttMs}ms, jitter ${jitterMs}ms)`,
      'give rttMs and jitterMs in milliseconds, e.g. rttMs: 80, jitterMs: 5',
    );
  }
}

export class WanEmulator {
  private readonly linksByPair = new Map<string, Link>();
  private readonly partitions = new Map<string, { a: RegionId; b: RegionId; mode: PartitionMode }>();
  private readonly random: () => number;
  private readonly maxBufferedBytes: number;
  private readonly onEvent: (e: WanEvent) => void;
  private closing: Promise<void> | null = null;

  constructor(opts: WanEmulatorOptions = {}) {
    this.random = mulberry32(opts.seed ?? 1);
    this.maxBufferedBytes = opts.maxBufferedBytesPerConnection ?? defaultMaxBufferedBytesPerConnection;
    assert(
      Number.isInteger(this.maxBufferedBytes) && this.maxBufferedBytes > 0,
      `maxBufferedBytesPerConnection must be a positive integer, got ${this.maxBufferedBytes}`,
    );
    this.onEvent = opts.onEvent ?? (() => {});
  }

  /** Starts the relay for spec.from -> spec.to; resolves with the address it listens on. */
  async addLink(spec: WanLinkSpec): Promise<{ host: string; port: number }> {
    if (this.closing !== null) throw new MeridianError('WAN_CLOSED', 'the WAN emulator is closed');
    if (spec.from === spec.to) {
      throw new MeridianError('WAN_BAD_LINK', `a link needs two regions, got ${spec.from} -> ${spec.to}`);
    }
    const key = pairKey(spec.from, spec.to);
    if (this.linksByPair.has(key)) {
      throw new MeridianError('WAN_DUPLICATE_LINK', `there is already a link ${spec.from} -> ${spec.to}`);
    }
    const jitterMs = spec.jitterMs ?? 0;
    checkLatency(spec.rttMs, jitterMs);

    const link: Link = {
      from: spec.from,
      to: spec.to,
      target: { ...spec.target },
      listen: { ...spec.listen },
      rttMs: spec.rttMs,
      jitterMs,
      server: net.createServer({ allowHalfOpen: true }, (client) => this.onConnection(link, client)),
      connections: new Set(),
      connectionsTotal: 0,
      counters: { bytesForward: 0, bytesBackward: 0, errorsTotal: 0, heldBytesPeak: 0 },
      listening: Promise.resolve(),
    };
    link.listening = new Promise<void>((resolve, reject) => {
      link.server.once('error', reject);
      link.server.listen(spec.listen.port, spec.listen.host, () => {
        link.server.off('error', reject);
        resolve();
      });
    });
    // Registered before listening, so a second addLink for the pair fails at once.
    this.linksByPair.set(key, link);
    try {
      await link.listening;
    } catch (err) {
      this.linksByPair.delete(key);
      throw new MeridianError(
        'WAN_LISTEN_FAILED',
        `link ${spec.from} -> ${spec.to} cannot listen on ${spec.listen.host}:${spec.listen.port}: ${(err as Error).message}`,
        'pick a free port, or port 0 for any',
      );
    }
    if (this.closing !== null) throw new MeridianError('WAN_CLOSED', 'the WAN emulator was closed while the link started');
    // Accept errors (e.g. out of file descriptors) must not crash the world.
    link.server.on('error', () => link.counters.errorsTotal++);
    const address = link.server.address();
    assert(address !== null && typeof address === 'object', 'a TCP server has an address once listening');
    link.listen = { host: address.address, port: address.port };
    return { ...link.listen };
  }

  /** Partitions a from b, both directions. Repeating it with another mode switches mode. */
  partition(a: RegionId, b: RegionId, mode: PartitionMode = 'blackhole'): void {
    assert(a !== b, `cannot partition ${a} from itself`);
    const current = this.partitions.get(pairKey(a, b));
    if (current?.mode === mode) return;
    this.partitions.set(pairKey(a, b), { a, b, mode });
    this.partitions.set(pairKey(b, a), { a, b, mode });
    for (const link of this.linksBetween(a, b)) {
      for (const relay of [...link.connections]) {
        if (mode === 'reset') relay.reset();
        else relay.blackhole();
      }
    }
    this.onEvent({ kind: 'partition', a, b, detail: mode });
  }

  /** heal(): every partition; heal(a): every partition of a; heal(a, b): that pair. */
  heal(a?: RegionId, b?: RegionId): void {
    assert(a !== undefined || b === undefined, 'heal(undefined, b): name a first');
    const healed = new Map<string, { a: RegionId; b: RegionId; mode: PartitionMode }>();
    for (const p of this.partitions.values()) {
      const involved = a === undefined || (b === undefined ? p.a === a || p.b === a : (p.a === a && p.b === b) || (p.a === b && p.b === a));
      if (involved) healed.set(pairKey(p.a, p.b), p);
    }
    for (const pair of healed.values()) {
      this.partitions.delete(pairKey(pair.a, pair.b));
      this.partitions.delete(pairKey(pair.b, pair.a));
      for (const link of this.linksBetween(pair.a, pair.b)) {
        for (const relay of [...link.connections]) if (relay.lostData) relay.reset();
      }
      this.onEvent({ kind: 'heal', a: pair.a, b: pair.b, detail: `was ${pair.mode}` });
    }
  }

  /** Partitions region from every other region that has a link. */
  isolate(region: RegionId, mode: PartitionMode = 'blackhole'): void {
    for (const other of this.regions()) if (other !== region) this.partition(region, other, mode);
  }

  /** Sets the round trip (and jitter; kept as it was if omitted) both ways; data arriving later sees it. */
  setLatency(a: RegionId, b: RegionId, rttMs: number, jitterMs?: number): void {
    const links = this.linksBetween(a, b);
    if (links.length === 0) throw new MeridianError('WAN_NO_LINK', `there is no link between ${a} and ${b}`);
    checkLatency(rttMs, jitterMs ?? 0);
    for (const link of links) {
      link.rttMs = rttMs;
      if (jitterMs !== undefined) link.jitterMs = jitterMs;
    }
    const jitterText = (links[0] as Link).jitterMs;
    this.onEvent({ kind: 'latency', a, b, detail: `rtt ${rttMs}ms, jitter ${jitterText}ms` });
  }

  links(): WanLinkStats[] {
    return [...this.linksByPair.values()].map((link) => {
      let heldBytes = 0;
      for (const relay of link.connections) heldBytes += relay.heldBytes;
      return {
        from: link.from,
        to: link.to,
        listen: { ...link.listen },
        rttMs: link.rttMs,
        jitterMs: link.jitterMs,
        partitioned: this.partitions.get(pairKey(link.from, link.to))?.mode ?? null,
        connectionsOpen: link.connections.size,
        connectionsTotal: link.connectionsTotal,
        bytesForward: link.counters.bytesForward,
        bytesBackward: link.counters.bytesBackward,
        heldBytes,
        heldBytesPeak: link.counters.heldBytesPeak,
        errorsTotal: link.counters.errorsTotal,
      };
    });
  }

  /** Stops every listener and destroys every relayed socket; resolves when all are closed. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const link of this.linksByPair.values()) {
      for (const relay of link.connections) {
        relay.destroy();
        waits.push(relay.closed);
      }
      // server.close() calls back once its accepted sockets are gone as well; a server
      // that never managed to listen calls back at once with an error, which is fine.
      const server = link.server;
      const closed = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
      waits.push(link.listening.then(closed, closed));
    }
    await Promise.all(waits);
  }

  private onConnection(link: Link, client: net.Socket): void {
    link.connectionsTotal++;
    if (this.closing !== null) {
      client.destroy();
      return;
    }
    const mode = this.partitions.get(pairKey(link.from, link.to))?.mode ?? null;
    if (mode === 'reset') {
      client.on('error', () => link.counters.errorsTotal++);
      resetSocket(client);
      return;
    }
    const relay = new RelayConnection({
      client,
      target: link.target,
      maxBufferedBytes: this.maxBufferedBytes,
      // Sampled per chunk from the link's current values: setLatency applies to new data.
      sampleDelayMs: () => Math.max(0, link.rttMs / 2 + (this.random() - 0.5) * link.jitterMs),
      blackholed: mode === 'blackhole',
      counters: link.counters,
      onClosed: (r) => link.connections.delete(r),
    });
    link.connections.add(relay);
  }

  private linksBetween(a: RegionId, b: RegionId): Link[] {
    const out: Link[] = [];
    for (const key of [pairKey(a, b), pairKey(b, a)]) {
      const link = this.linksByPair.get(key);
      if (link !== undefined) out.push(link);
    }
    return out;
  }

  private regions(): Set<RegionId> {
    const out = new Set<RegionId>();
    for (const link of this.linksByPair.values()) {
      out.add(link.from);
      out.add(link.to);
    }
    return out;
  }
}
