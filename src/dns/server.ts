// DnsServer: the options checked and compiled once, respond() behind a UDP and a TCP
// shell on the same port, the UDP rate limiter in front of it, and counters. All DNS
// behaviour is in respond(), and in the fast path (fast-path.ts) that answers the common
// query the same way with less work; this file is lifecycle and wiring.

import { isIP } from 'node:net';
import { MeridianError } from '../lib/index.js';
import { defaultAmplificationFactor } from './amplification.js';
import { defaultMaxUdpPayloadBytes, classicUdpBytes, maxTcpMessageBytes } from './edns.js';
import { FastPath, serveQuery } from './fast-path.js';
import { ResponseRateLimiter } from './rrl.js';
import { DnsCounters } from './stats.js';
import { listenTcp, type TcpShell } from './tcp.js';
import type { DnsRateLimit, DnsServerOptions, DnsServerStats, DnsTransport, DnsZone, RespondContext } from './types.js';
import { bindUdp, type UdpShell } from './udp.js';
import { isQueryMessage } from './wire.js';
import { compileZone } from './zone.js';

export const defaultTcpIdleTimeoutMs = 10_000;
/** With port 0, TCP picks a free port and UDP must get the same one, which another
 *  process may hold: try a few ports before giving up. */
const ephemeralPortAttempts = 8;

export class DnsServer {
  private readonly zone: DnsZone;
  private readonly tcpIdleTimeoutMs: number;
  private readonly maxUdpPayloadBytes: number;
  private readonly amplificationFactor: number;
  private readonly limiter: ResponseRateLimiter | null;
  private readonly clockMs: () => number;
  private readonly onError: (err: Error) => void;
  private readonly counters = new DnsCounters();
  private readonly fastPath: FastPath;
  private shells: { udp: UdpShell; tcp: TcpShell } | null = null;
  private starting = false;

  constructor(private readonly opts: DnsServerOptions) {
    if (isIP(opts.host) === 0) throw new MeridianError('dns-config', `dns host ${JSON.stringify(opts.host)} is not an IP address`, 'bind to an IPv4 or IPv6 address, e.g. 127.0.1.1');
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65_535) throw new MeridianError('dns-config', `dns port ${opts.port} is out of range`, 'use 0-65535 (0: any free port)');
    this.tcpIdleTimeoutMs = opts.tcpIdleTimeoutMs ?? defaultTcpIdleTimeoutMs;
    if (!(this.tcpIdleTimeoutMs > 0)) throw new MeridianError('dns-config', `tcpIdleTimeoutMs ${this.tcpIdleTimeoutMs} is not positive`, 'use a number of milliseconds, e.g. 10000');
    this.maxUdpPayloadBytes = opts.maxUdpPayload ?? defaultMaxUdpPayloadBytes;
    if (!Number.isInteger(this.maxUdpPayloadBytes) || this.maxUdpPayloadBytes < classicUdpBytes || this.maxUdpPayloadBytes > maxTcpMessageBytes) {
      throw new MeridianError('dns-config', `maxUdpPayload ${this.maxUdpPayloadBytes} is out of range`, 'use 512-65535 bytes; 1232 avoids fragmentation');
    }
    this.amplificationFactor = opts.amplificationFactor ?? defaultAmplificationFactor;
    if (!(this.amplificationFactor >= 0 && Number.isFinite(this.amplificationFactor))) {
      throw new MeridianError('dns-config', `amplificationFactor ${this.amplificationFactor} is not a number >= 0`, 'use 10 (0: no bound beyond the EDNS size)');
    }
    this.limiter = opts.rateLimit === undefined || opts.rateLimit.responsesPerSecond === 0 ? null : new ResponseRateLimiter(checkedRateLimit(opts.rateLimit));
    this.clockMs = opts.clockMs ?? (() => performance.now());
    // Without a handler an error still surfaces (as a process warning) instead of vanishing;
    // a handler that throws must not take a socket callback down with it.
    const report = opts.onError ?? ((err: Error) => process.emitWarning(err));
    this.onError = (err) => {
      try {
        report(err);
      } catch {
        // Nowhere left to report to.
      }
    };
    this.zone = compileZone(opts);
    this.fastPath = new FastPath(this.zone);
  }

  async start(): Promise<{ udpPort: number; tcpPort: number }> {
    if (this.shells !== null || this.starting) throw new Error('DnsServer already started');
    this.starting = true;
    try {
      this.shells = await this.bindBoth();
      return { udpPort: this.shells.udp.port, tcpPort: this.shells.tcp.port };
    } finally {
      this.starting = false;
    }
  }

  async stop(): Promise<void> {
    const shells = this.shells;
    this.shells = null;
    if (shells === null) return;
    await Promise.all([shells.udp.close(), shells.tcp.close()]);
  }

  stats(): DnsServerStats {
    return this.counters.snapshot(this.limiter?.stats(), this.fastPath.stats());
  }

  /** TCP first (the kernel picks a port that is free for TCP), then UDP on that port. */
  private async bindBoth(): Promise<{ udp: UdpShell; tcp: TcpShell }> {
    const attempts = this.opts.port === 0 ? ephemeralPortAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      const tcp = await listenTcp({
        host: this.opts.host,
        port: this.opts.port,
        idleTimeoutMs: this.tcpIdleTimeoutMs,
        handle: (m, remote) => this.handle(m, remote, 'tcp'),
        onError: this.onError,
      });
      try {
        const udp = await bindUdp({ host: this.opts.host, port: tcp.port, handle: (m, remote) => this.handle(m, remote, 'udp'), onError: this.onError });
        return { udp, tcp };
      } catch (err) {
        await tcp.close();
        if (attempt >= attempts || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  }

  private handle(message: Buffer, remoteAddress: string, transport: DnsTransport): Buffer | null {
    try {
      // UDP only: over TCP the handshake has proven the address, so there is nothing to reflect.
      let truncate = false;
      if (transport === 'udp' && this.limiter !== null && isQueryMessage(message)) {
        const verdict = this.limiter.take(remoteAddress, this.clockMs());
        if (verdict === 'drop') {
          this.counters.recordUnanswered();
          return null;
        }
        truncate = verdict === 'slip';
      }
      const ctx: RespondContext = {
        zone: this.zone,
        answer: this.opts.answer,
        transport,
        remoteAddress,
        maxUdpPayloadBytes: this.maxUdpPayloadBytes,
        amplificationFactor: this.amplificationFactor,
        truncate,
      };
      // Behind the limiter, as respond() is: the fast path never answers a dropped or slipped query.
      const response = serveQuery(message, ctx, this.fastPath);
      this.counters.record(response);
      if (response.kind === 'drop') return null;
      if (response.error !== undefined) this.onError(response.error);
      return response.bytes;
    } catch (err) {
      // respond() and the fast path catch everything past the header; this is the last guard.
      this.counters.recordUnanswered();
      this.onError(err instanceof Error ? err : new Error(String(err)));
      return null;
    }
  }
}

function checkedRateLimit(r: DnsRateLimit): DnsRateLimit {
  const wholeIn = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;
  const problems = [
    !(r.responsesPerSecond > 0 && Number.isFinite(r.responsesPerSecond)) && `responsesPerSecond ${r.responsesPerSecond} (a number >= 0; 0 turns it off)`,
    !(r.burst >= 1 && Number.isFinite(r.burst)) && `burst ${r.burst} (at least 1)`,
    !wholeIn(r.slip, 0, 100) && `slip ${r.slip} (a whole number, 0 drops every limited reply)`,
    !wholeIn(r.ipv4PrefixLength, 0, 32) && `ipv4PrefixLength ${r.ipv4PrefixLength} (0-32)`,
    !wholeIn(r.ipv6PrefixLength, 0, 128) && `ipv6PrefixLength ${r.ipv6PrefixLength} (0-128)`,
    r.maxPrefixes !== undefined && !wholeIn(r.maxPrefixes, 1, 10_000_000) && `maxPrefixes ${r.maxPrefixes} (1-10,000,000)`,
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new MeridianError('dns-config', `rateLimit: ${problems.join('; ')}`, 'e.g. { responsesPerSecond: 100, burst: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 }');
  return r;
}
