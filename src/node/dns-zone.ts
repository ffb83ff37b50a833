// The DNS zone a node serves, derived from the topology in one place: the node starts
// its server from it, and `meridian validate` compiles it, so a file that validates is
// a file every node can serve.

import type { DnsServerOptions } from '../dns/index.js';
import type { Topology } from '../topology/index.js';

export type ZoneConfig = Pick<DnsServerOptions, 'zone' | 'hosts' | 'nameservers' | 'soa' | 'records'>;

export function zoneConfig(t: Topology, serial: number): ZoneConfig {
  const f = t.file;
  const zone = f.service.zone.replace(/\.$/, '');
  return {
    zone,
    hosts: f.service.hosts,
    nameservers: t.regions.map((r, i) => ({ name: `ns${i + 1}.${zone}`, address: r.public })),
    soa: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial, refreshSec: 3600, retrySec: 600, expireSec: 86400, minimumSec: 60 },
    // Static records live as long as the config: their own TTL, else the routing TTL.
    records: f.service.records.map((r) => ({ name: r.name, type: r.type, value: r.value, ttlSec: Math.round((r.ttl ?? f.routing.ttl) / 1000) })),
  };
}
