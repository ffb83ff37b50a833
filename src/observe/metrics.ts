// Prometheus metrics of one region node (prom-client). One registry per node, so tests
// can run several nodes in one process.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PlainHistogram } from './plain-histogram.js';

export interface NodeMetrics {
  readonly registry: Registry;
  readonly gatewayRequests: Counter<'route' | 'code' | 'served_by'>;
  readonly gatewayDuration: PlainHistogram;
  /** One gateway request: counted in plain numbers, handed to the counter on scrape. */
  readonly gatewayRequest: (route: string, status: number, servedBy: string, seconds: number) => void;
  readonly meshAuthFailures: Counter<'reason'>;
  readonly healthChanges: Counter<'target' | 'state'>;
  readonly gatewayRefused: Counter<'code'>;
}

export function createNodeMetrics(region: string, gauges: {
  regionUp: () => Record<string, boolean>;
  dnsQueries: () => Record<string, number>;
  dnsRateLimit: () => { dropped: number; slipped: number } | null;
}): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ region });
  collectDefaultMetrics({ register: registry, prefix: 'meridian_process_' });
  const counts = new RequestCounts();
  const gatewayRequests = new Counter({
    name: 'meridian_gateway_requests_total', help: 'HTTP requests handled by the gateway, by route (local, forward, error), status code and serving region', labelNames: ['route', 'code', 'served_by'] as const, registers: [registry],
    collect() {
      this.reset();
      counts.each((route, code, servedBy, n) => this.inc({ route, code, served_by: servedBy }, n));
    },
  });
  const gatewayDuration = new PlainHistogram('meridian_gateway_request_duration_seconds', 'Time from request to response end at the gateway', 'route', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registry);
  const gatewayRequest = (route: string, status: number, servedBy: string, seconds: number): void => {
    counts.add(route, status, servedBy);
    gatewayDuration.of(route).observe(seconds);
  };
  const meshAuthFailures = new Counter({ name: 'meridian_mesh_auth_failures_total', help: 'Mesh requests refused for missing or bad credentials', labelNames: ['reason'] as const, registers: [registry] });
  const healthChanges = new Counter({ name: 'meridian_health_changes_total', help: 'Health state changes seen by this node', labelNames: ['target', 'state'] as const, registers: [registry] });
  new Gauge({
    name: 'meridian_region_up', help: 'Region health as this node sees it (1 up, 0 down)', labelNames: ['target'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [r, up] of Object.entries(gauges.regionUp())) this.set({ target: r }, up ? 1 : 0);
    },
  });
  new Counter({
    name: 'meridian_dns_responses_total', help: 'DNS responses by rcode', labelNames: ['rcode'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [rcode, n] of Object.entries(gauges.dnsQueries())) this.inc({ rcode }, n);
    },
  });
  new Counter({
    name: 'meridian_dns_rate_limited_total', help: 'UDP DNS replies held back by response-rate limiting, by what was done (dropped, or slipped as an empty TC reply)', labelNames: ['action'] as const, registers: [registry],
    collect() {
      this.reset();
      const r = gauges.dnsRateLimit();
      if (r !== null) {
        this.inc({ action: 'dropped' }, r.dropped);
        this.inc({ action: 'slipped' }, r.slipped);
      }
    },
  });
  const gatewayRefused = new Counter({ name: 'meridian_gateway_refused_total', help: 'Requests the gateway refused before handling (parser errors: oversized headers, smuggling, bad chunking, timeouts)', labelNames: ['code'] as const, registers: [registry] });
  return { registry, gatewayRequests, gatewayDuration, gatewayRequest, meshAuthFailures, healthChanges, gatewayRefused };
}

/**
 * Requests by route, status and serving region in nested maps of plain numbers: counting
 * one allocates nothing, where prom-client's inc() builds, hashes and validates a label set
 * on every call. Bounded by what it counts: routes are three, status codes and regions few.
 */
class RequestCounts {
  private readonly byRoute = new Map<string, Map<number, Map<string, { n: number }>>>();

  add(route: string, status: number, servedBy: string): void {
    let byStatus = this.byRoute.get(route);
    if (byStatus === undefined) this.byRoute.set(route, (byStatus = new Map()));
    let byRegion = byStatus.get(status);
    if (byRegion === undefined) byStatus.set(status, (byRegion = new Map()));
    const c = byRegion.get(servedBy);
    if (c === undefined) byRegion.set(servedBy, { n: 1 });
    else c.n++;
  }

  each(f: (route: string, code: string, servedBy: string, n: number) => void): void {
    for (const [route, byStatus] of this.byRoute) {
      for (const [status, byRegion] of byStatus) for (const [servedBy, c] of byRegion) f(route, String(status), servedBy, c.n);
    }
  }
}
