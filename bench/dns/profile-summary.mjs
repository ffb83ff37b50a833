// Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the samples were, by
// function (self and inclusive time) and by module (Meridian's DNS, geo, routing,
// dns-packet, ipaddr.js, node internals, GC...).
//
//   node bench/dns/profile-summary.mjs FILE.cpuprofile [--top 25] [--json]

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Which part of the process a function belongs to, from its script URL. */
export function moduleOf(url, functionName) {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native (program)';
  if (functionName === '(root)') return 'root';
  if (url === '') return 'native (builtins, C++)';
  if (url.startsWith('node:')) return `node internals (${url.slice(5).split('/')[0]})`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.match(/\/dist\/([^/]+)\//);
  if (dist) return `meridian ${dist[1]}`;
  if (url.includes('/bench/')) return 'bench harness';
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url) {
  const m = url.match(/\/(dist|node_modules|bench)\/(.*)$/);
  return m ? `${m[1] === 'dist' ? 'dist/' : m[1] === 'bench' ? 'bench/' : ''}${m[2]}` : url.replace(/^file:\/\//, '');
}

/**
 * Self time: the samples whose top frame is the function. Inclusive time: the samples with
 * the function anywhere on the stack (counted once per sample, recursion or not).
 * Times are estimated as share of samples x wall time sampled.
 */
export function summarise(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const cf = n.callFrame;
    return `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  };
  const samples = profile.samples ?? [];
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = samples.length > 0 ? wallMs / samples.length : 0;

  const self = new Map();
  const incl = new Map();
  const modules = new Map();
  let idle = 0;
  for (const id of samples) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + 1);
    const mod = moduleOf(n.callFrame.url, n.callFrame.functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + 1);
    if (mod === 'idle') idle++;
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = key(byId.get(cur));
      if (!seen.has(kk)) {
        seen.add(kk);
        incl.set(kk, (incl.get(kk) ?? 0) + 1);
      }
    }
  }
  const busy = samples.length - idle;
  const row = ([k, hits]) => ({ function: k, samples: hits, ms: round(hits * msPerSample), pctOfBusy: round((100 * hits) / Math.max(1, busy)) });
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    wallMs: round(wallMs),
    samples: samples.length,
    busySamples: busy,
    idlePct: round((100 * idle) / Math.max(1, samples.length)),
    modules: sorted(modules).filter(([m]) => m !== 'idle').map(([module, hits]) => ({ module, samples: hits, pctOfBusy: round((100 * hits) / Math.max(1, busy)) })),
    selfTop: sorted(self).filter(([k]) => !k.startsWith('(idle)')).slice(0, top).map(row),
    inclusiveTop: sorted(incl).filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)')).slice(0, top).map(row),
  };
}

function round(x) {
  return Math.round(x * 10) / 10;
}

export function formatSummary(s) {
  const lines = [];
  lines.push(`profile: ${s.samples} samples over ${(s.wallMs / 1000).toFixed(1)} s, ${s.idlePct}% idle; percentages are of busy samples`);
  lines.push('by module:');
  for (const m of s.modules) lines.push(`  ${m.pctOfBusy.toFixed(1).padStart(5)}%  ${m.module}`);
  lines.push('top self time:');
  for (const r of s.selfTop) lines.push(`  ${r.pctOfBusy.toFixed(1).padStart(5)}%  ${r.function}`);
  lines.push('top inclusive time:');
  for (const r of s.inclusiveTop) lines.push(`  ${r.pctOfBusy.toFixed(1).padStart(5)}%  ${r.function}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) {
    console.error('usage: node bench/dns/profile-summary.mjs FILE.cpuprofile [--top 25] [--json]');
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(positionals[0], 'utf8')), Number(values.top));
  console.log(values.json ? JSON.stringify(s, null, 2) : formatSummary(s));
}
