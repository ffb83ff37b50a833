// The simulated users' stub resolver: A queries with EDNS Client Subnet over one shared
// UDP socket, matched by id. dns-packet does the wire format.

import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface Resolved {
  readonly addresses: string[];
  readonly ttlSec: number;
  readonly rcode: string;
  /** The ECS scope prefix the server answered with, when it echoed ECS. */
  readonly scope: number | null;
}

interface Pending {
  resolve: (r: Resolved) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class StubResolver {
  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg) => this.onMessage(msg));
    this.socket.on('error', () => undefined);
    this.socket.unref();
  }

  query(server: { host: string; port: number }, name: string, ecs: { ip: string; prefix: number }, timeoutMs: number): Promise<Resolved> {
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    const packet = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, extendedRcode: 0, ednsVersion: 0, flag_do: false, options: [{ code: 8, family: 1, sourcePrefixLength: ecs.prefix, scopePrefixLength: 0, ip: ecs.ip }] }],
    });
    return new Promise<Resolved>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`DNS timeout after ${timeoutMs} ms from ${server.host}:${server.port}`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(packet, server.port, server.host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  private onMessage(msg: Buffer): void {
    let p: dnsPacket.Packet;
    try {
      p = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const pending = p.id === undefined ? undefined : this.pending.get(p.id);
    if (pending === undefined || p.id === undefined) return;
    this.pending.delete(p.id);
    clearTimeout(pending.timer);
    const answers = (p.answers ?? []).filter((a): a is dnsPacket.StringAnswer => a.type === 'A');
    const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    const ecs = opt?.options?.find((o) => o.code === 8) as { scopePrefixLength?: number } | undefined;
    pending.resolve({
      addresses: answers.map((a) => a.data),
      ttlSec: answers[0]?.ttl ?? 0,
      // dns-packet decodes the rcode but its types leave it out.
      rcode: (p as { rcode?: string }).rcode ?? 'NOERROR',
      scope: ecs?.scopePrefixLength ?? null,
    });
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('resolver closed'));
    }
    this.pending.clear();
    this.socket.close();
  }
}
