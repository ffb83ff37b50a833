// What a region node hands its DNS server, rebuilt outside RegionNode for the benchmark:
// the DnsServer options of RegionNode.start() (zoneConfig() of src/node/dns-zone.ts and
// the topology's dns: settings) and the policy callback of RegionNode.dnsAnswer()
// (src/node/node.ts), with the failure detector replaced by "every region up" — a fresh
// health Map per decision, as HealthProber.routingHealth() makes one, and a health
// generation that never changes. dnsAnswer() caches like the node (per family and client
// subnet, bounded); computeDnsAnswer() is the uncached decision (components.mjs times it).
// Keep serverOptions(), dnsAnswer() and computeDnsAnswer() in step with RegionNode.

import { ipv4SubnetNumber } from '../../dist/dns/index.js';
import { clientSubnet, GeoLocator } from '../../dist/geo/index.js';
import { zoneConfig } from '../../dist/node/dns-zone.js';
import { route } from '../../dist/routing/index.js';
import { latencyModel, loadTopologyFile, regionById } from '../../dist/topology/index.js';
import { routingTable } from '../../dist/routing/index.js';

/**
 * Loads the topology and builds the node's DNS pieces.
 * Returns { topology, table, geo, dnsAnswer(family, client), computeDnsAnswer(family, client), ranked(ip, prefixLength), serverOptions(host, port, onError) }.
 */
export function nodeDns(configPath) {
  const loaded = loadTopologyFile(configPath);
  if (!loaded.ok) {
    throw new Error(`${configPath} is not a valid topology: ${loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
  const topology = loaded.topology;
  const table = routingTable(topology, latencyModel(topology));
  const geo = new GeoLocator();
  const startedMs = Date.now();

  const routingHealth = () => new Map(topology.regions.map((r) => [r.id, { up: true, sinceMs: startedMs }]));

  const decide = (client) => {
    const loc = geo.lookup(client.ip);
    const subnet = clientSubnet(client.ip, Math.min(client.prefixLength, 24), Math.min(client.prefixLength, 56)) ?? client.ip;
    const health = routingHealth();
    const decision = route(table, {
      client: { location: loc.known ? { lat: loc.lat, lon: loc.lon, country: loc.country, continent: loc.continent } : null, source: loc.known ? client.source === 'ecs' ? 'ecs' : 'resolver' : 'none', subnet },
      health,
    });
    return { decision, health };
  };

  /** RegionNode.dnsAnswer, line for line: the cache per (family, client subnet, health generation). */
  const maxCachedDnsAnswers = 50_000;
  const healthGeneration = 0; // every region up, for good
  const dnsAnswers = new Map();
  const dnsAnswer = (family, client) => {
    const prefixV4 = Math.min(client.prefixLength, 24);
    const subnetOf = () => clientSubnet(client.ip, prefixV4, Math.min(client.prefixLength, 56)) ?? client.ip;
    const v4 = ipv4SubnetNumber(client.ip, prefixV4);
    const key = v4 !== null ? ((v4 * 64 + prefixV4) * 2 + (family === 4 ? 0 : 1)) * 4096 + (healthGeneration % 4096) : `${family}|${subnetOf()}|${healthGeneration}`;
    const hit = dnsAnswers.get(key);
    if (hit !== undefined) return hit;
    const answer = computeDnsAnswer(family, client);
    if (dnsAnswers.size >= maxCachedDnsAnswers) dnsAnswers.delete(dnsAnswers.keys().next().value);
    dnsAnswers.set(key, answer);
    return answer;
  };

  /** RegionNode.computeDnsAnswer, line for line (but for where health comes from). */
  const computeDnsAnswer = (family, client) => {
    const { decision, health } = decide(client);
    const addresses = decision.answer
      .map((id) => regionById(topology, id)?.public)
      .filter((a) => a !== undefined && (family === 4 ? !a.includes(':') : a.includes(':')));
    const ttlMs = topology.file.routing.ttl;
    const h = topology.file.health;
    const anyDown = [...health.values()].some((x) => !x.up);
    const ttlSec = Math.max(1, Math.round((anyDown ? Math.min(ttlMs, h.interval * h.up_after) : ttlMs) / 1000));
    return { addresses, ttlSec };
  };

  /** Every region, best first, for a client subnet given by ECS: what gdnsd's nets map gets. */
  const ranked = (ip, prefixLength) => decide({ ip, prefixLength, source: 'ecs' }).decision.ranked.map((r) => r.region);

  const f = topology.file;
  const zone = f.service.zone.replace(/\.$/, '');
  /** RegionNode.start()'s DnsServer options, but for the rate limiter's rate. Every
   *  benchmark query comes from 127.0.0.1, which the node's limiter (100 replies/s per /24
   *  by default) would rightly throttle, and gdnsd has no limiter: the limiter stays on —
   *  each query still pays its bookkeeping — with a rate and burst it never reaches. */
  const limit = f.dns.rate_limit;
  const serverOptions = (host, port, onError) => ({
    ...zoneConfig(topology, Math.floor(startedMs / 1000)),
    host,
    port,
    maxUdpPayload: f.dns.max_udp_payload,
    amplificationFactor: f.dns.amplification_factor,
    rateLimit: { responsesPerSecond: 1e9, burst: 1e9, slip: limit.slip, ipv4PrefixLength: limit.ipv4_prefix, ipv6PrefixLength: limit.ipv6_prefix },
    answer: (_name, family, client) => dnsAnswer(family, client),
    onError,
  });

  return { topology, table, geo, zone, ttlSec: Math.round(f.routing.ttl / 1000), dnsAnswer, computeDnsAnswer, ranked, serverOptions };
}
