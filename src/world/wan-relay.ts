// One relayed TCP connection of a WAN link: the client socket a region dialled, the
// socket to the real target, and a delay line each way. It knows nothing of regions or
// partitions as policy; the emulator tells it to blackhole, reset or destroy.
//
// Every socket handler here only updates state or destroys sockets: nothing may throw out
// of an event handler, because that would take the whole world process down.

import net from 'node:net';
import type { Socket } from 'node:net';
import { DelayLine } from './wan-delay-line.js';

/** Counters shared by every connection of one link, read by WanEmulator.links(). */
export interface RelayCounters {
  bytesForward: number;
  bytesBackward: number;
  errorsTotal: number;
  /** Most bytes ever held in-process for one direction of one connection. */
  heldBytesPeak: number;
}

export interface RelayOptions {
  client: Socket;
  target: { host: string; port: number };
  /** Bound on bytes held in-process per direction; above it the reading side is paused. */
  maxBufferedBytes: number;
  /** One-way delay for a chunk arriving now; sampled per chunk, so latency changes apply to new data. */
  sampleDelayMs: () => number;
  /** Accept the client but never reach the target (a blackhole partition was in force). */
  blackholed: boolean;
  counters: RelayCounters;
  onClosed: (relay: RelayConnection) => void;
}

/** Closes with an RST where it can, so the peer sees a reset as from a dead or partitioned host. */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.pending) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** One direction: reads from `source`, holds in a delay line, writes to `dest`. */
class RelayDirection {
  private readonly line: DelayLine;
  private paused = false;
  private discarding = false;

  constructor(
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly opts: {
      maxBufferedBytes: number;
      sampleDelayMs: () => number;
      onHeld: (heldBytes: number) => void;
      onDelivered: (bytes: number) => void;
      onBroken: () => void;
    },
  ) {
    this.line = new DelayLine({ deliver: (chunks) => this.deliver(chunks), end: () => this.deliverEnd() });
    dest.on('drain', () => this.maybeResume());
  }

  /**
   * Bytes this direction keeps in the process: in the delay line, plus released bytes the
   * destination socket has not yet handed to the kernel (a slow reader on the far side).
   */
  get heldBytes(): number {
    return this.line.heldBytes + (this.dest.destroyed ? 0 : this.dest.writableLength);
  }

  accept(chunk: Buffer): void {
    if (this.discarding) return;
    this.line.push(chunk, this.opts.sampleDelayMs());
    const heldBytes = this.heldBytes;
    this.opts.onHeld(heldBytes);
    // Pausing stops 'data' events at once, so at most this one chunk overshoots the
    // bound; the kernel's buffers and TCP flow control then hold the sender back.
    if (heldBytes > this.opts.maxBufferedBytes && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
  }

  acceptEnd(): void {
    if (this.discarding) return;
    this.line.pushEnd(this.opts.sampleDelayMs());
  }

  /** A blackhole: drop what is held and everything that comes later. */
  discard(): void {
    this.discarding = true;
    this.line.clear();
    // Keep reading so discarded bytes do not pile up in this process's socket buffers.
    if (this.paused) {
      this.paused = false;
      this.source.resume();
    }
  }

  stop(): void {
    this.line.clear();
  }

  private deliver(chunks: Buffer[]): void {
    if (this.dest.destroyed || this.dest.writableEnded) {
      this.opts.onBroken();
      return;
    }
    let bytes = 0;
    // Cork so a batch goes out as one writev, not a syscall per chunk.
    this.dest.cork();
    for (const chunk of chunks) {
      this.dest.write(chunk);
      bytes += chunk.length;
    }
    this.dest.uncork();
    this.opts.onDelivered(bytes);
    this.maybeResume();
  }

  private deliverEnd(): void {
    if (!this.dest.destroyed) this.dest.end();
  }

  private maybeResume(): void {
    if (this.paused && !this.discarding && this.heldBytes <= this.opts.maxBufferedBytes) {
      this.paused = false;
      this.source.resume();
    }
  }
}

export class RelayConnection {
  /** Resolves once both sockets have closed. */
  readonly closed: Promise<void>;
  private readonly client: Socket;
  private target: Socket | null = null;
  private forward: RelayDirection | null = null;
  private backward: RelayDirection | null = null;
  private blackholed: boolean;
  private clientClosed = false;
  private targetClosed = true;
  private finished = false;
  private resolveClosed: () => void = () => {};

  constructor(private readonly opts: RelayOptions) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const client = opts.client;
    this.client = client;
    this.blackholed = opts.blackholed;
    client.setNoDelay(true);
    client.on('error', () => this.onError('client'));
    client.on('close', () => {
      this.clientClosed = true;
      this.maybeFinish();
    });
    client.on('data', (chunk: Buffer) => this.forward?.accept(chunk));
    client.on('end', () => this.forward?.acceptEnd());
    // Connecting only now, not at partition time, is what a blackhole means: the SYN
    // never reaches the target, so the target must not see a connection either.
    if (!this.blackholed) this.connectTarget();
  }

  /** True once the connection lost data to a blackhole; continuing it would corrupt the stream. */
  get lostData(): boolean {
    return this.blackholed;
  }

  /** Bytes held in-process, both directions. */
  get heldBytes(): number {
    return (this.forward?.heldBytes ?? 0) + (this.backward?.heldBytes ?? 0);
  }

  /** Stops delivering both ways; sockets stay open so the callers' own timeouts fire. */
  blackhole(): void {
    this.blackholed = true;
    this.forward?.discard();
    this.backward?.discard();
  }

  /** Tears the connection down with resets, as a peer that vanished would. */
  reset(): void {
    this.stopLines();
    resetSocket(this.client);
    if (this.target !== null) resetSocket(this.target);
  }

  /** Tears the connection down quietly (the emulator is closing). */
  destroy(): void {
    this.stopLines();
    this.client.destroy();
    this.target?.destroy();
  }

  private connectTarget(): void {
    const { client, opts } = this;
    const target = net.connect({ host: opts.target.host, port: opts.target.port, allowHalfOpen: true, noDelay: true });
    this.target = target;
    this.targetClosed = false;
    target.on('error', () => this.onError('target'));
    target.on('close', () => {
      this.targetClosed = true;
      this.maybeFinish();
    });
    const onHeld = (heldBytes: number): void => {
      if (heldBytes > opts.counters.heldBytesPeak) opts.counters.heldBytesPeak = heldBytes;
    };
    // A destination that is already gone while data is still due: a real peer would
    // answer with a reset, so the pair is reset.
    const onBroken = (): void => this.reset();
    this.forward = new RelayDirection(client, target, {
      maxBufferedBytes: opts.maxBufferedBytes,
      sampleDelayMs: opts.sampleDelayMs,
      onHeld,
      onDelivered: (bytes) => (opts.counters.bytesForward += bytes),
      onBroken,
    });
    this.backward = new RelayDirection(target, client, {
      maxBufferedBytes: opts.maxBufferedBytes,
      sampleDelayMs: opts.sampleDelayMs,
      onHeld,
      onDelivered: (bytes) => (opts.counters.bytesBackward += bytes),
      onBroken,
    });
    target.on('data', (chunk: Buffer) => this.backward?.accept(chunk));
    target.on('end', () => this.backward?.acceptEnd());
  }

  private onError(side: 'client' | 'target'): void {
    this.opts.counters.errorsTotal++;
    // Behind a blackhole the client must learn nothing, not even that the target died;
    // it is reset when the partition heals.
    if (side === 'target' && this.blackholed) {
      this.target?.destroy();
      return;
    }
    // The target refused or reset: the client sees a reset, as from a dead host.
    this.reset();
  }

  private stopLines(): void {
    this.forward?.stop();
    this.backward?.stop();
  }

  private maybeFinish(): void {
    if (this.finished || !this.clientClosed || !this.targetClosed) return;
    this.finished = true;
    this.stopLines();
    this.opts.onClosed(this);
    this.resolveClosed();
  }
}
