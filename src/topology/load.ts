// Loading a topology file: YAML (errors with line and column), then the schema, then the
// cross-field checks. Every problem is collected, so one run of `meridian validate`
// lists them all; nothing here throws for bad input.

import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { loadRegionCatalog, type RegionCatalog } from '../geo/index.js';
import { crossCheck, type RawProblem } from './checks.js';
import { buildTopology, type Topology } from './derived.js';
import { formatPath, type PathSegment, type Problem } from './problem.js';
import { topologySchema, type TopologyFile } from './schema.js';

export type LoadResult =
  | { ok: true; topology: Topology; problems: Problem[] } // problems: warnings only
  | { ok: false; problems: Problem[] };

/** Bounds a config file so a mistaken path (a log, a core dump) is refused, not parsed. */
export const maxTopologyBytes = 4 * 1024 * 1024;

export function loadTopologyFile(path: string, catalog?: RegionCatalog): LoadResult {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > maxTopologyBytes) {
      return fail({ path: '(file)', message: `file is ${buf.length} bytes`, expected: `a topology file under ${maxTopologyBytes} bytes` });
    }
    text = buf.toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail({ path: '(file)', message: code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`, expected: 'a readable YAML file' });
  }
  return parseTopology(text, catalog);
}

export function parseTopology(text: string, catalog: RegionCatalog = loadRegionCatalog()): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        severity: 'error',
        path: '(yaml)',
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
        expected: 'valid YAML',
        ...(e.linePos?.[0] && { line: e.linePos[0].line, col: e.linePos[0].col }),
      })),
    };
  }
  // A bound on alias expansion: a "billion laughs" file is refused, not expanded.
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail({ path: '(yaml)', message: (e as Error).message, expected: 'YAML without runaway aliases' });
  }
  const locate = (path: readonly PathSegment[]): { line?: number; col?: number } => locateInDocument(doc, lineCounter, path);

  const parsed = topologySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const schemaProblems = parsed.error.issues.flatMap((i) => issueProblems(i, raw));
    // The cross-field checks still run, on a copy with the bad values set aside, so one
    // run lists every problem rather than one layer at a time.
    const patched = patchedForCrossChecks(raw, parsed.error.issues);
    const taken = new Set(schemaProblems.map((p) => formatPath(p.path)));
    const crossProblems = patched === undefined ? [] : crossCheck(patched, catalog).filter((p) => !taken.has(formatPath(p.path)));
    return { ok: false, problems: byLine([...schemaProblems, ...crossProblems].map((p) => withLine(p, locate))) };
  }
  const problems = byLine(crossCheck(parsed.data, catalog).map((p) => withLine(p, locate)));
  if (problems.some((p) => p.severity === 'error')) return { ok: false, problems };
  return { ok: true, topology: buildTopology(parsed.data, catalog), problems };
}

/**
 * Sets aside the values the schema refused: a required key gets a harmless placeholder
 * (unique, so it causes no duplicate), anything else is removed and takes its default.
 * Returns undefined when the file cannot be made to parse in a few rounds.
 */
function patchedForCrossChecks(raw: unknown, firstIssues: readonly z.core.$ZodIssue[]): TopologyFile | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const copy = structuredClone(raw) as Record<string, unknown>;
  let issues = firstIssues;
  for (let round = 0; round < 6; round++) {
    for (const issue of issues) {
      const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
      if (issue.code === 'unrecognized_keys') for (const k of issue.keys) setAside(copy, [...path, k], round);
      else setAside(copy, path, round);
    }
    const again = topologySchema.safeParse(copy);
    if (again.success) return again.data;
    issues = again.error.issues;
  }
  return undefined;
}

const placeholders: Record<string, (n: number) => unknown> = {
  id: (n) => `unnamed-${n}`,
  public: (n) => `127.255.${Math.floor(n / 250)}.${(n % 250) + 1}`, // loopback: no false 'several machines'
  mesh: (n) => `127.255.255.254:${60000 + n}`,
  app: () => 'http://127.0.0.1:1',
  name: () => 'unnamed',
  zone: () => 'invalid.test',
  locality: () => 'global',
  kind: () => 'embedded',
};

let placeholderCount = 0;

function setAside(root: Record<string, unknown>, path: readonly PathSegment[], round: number): void {
  if (path.length === 0) return;
  const parent = valueAt(root, path.slice(0, -1));
  const key = path[path.length - 1] as PathSegment;
  if (parent === null || typeof parent !== 'object') return setAside(root, path.slice(0, -1), round);
  const make = typeof key === 'string' ? placeholders[key] : undefined;
  if (Array.isArray(parent) && typeof key === 'number') {
    // A bad list item: the list is dropped (an optional list takes its default).
    setAside(root, path.slice(0, -1), round);
  } else if (make !== undefined && round < 3) {
    (parent as Record<string, unknown>)[key] = make(placeholderCount++);
  } else {
    delete (parent as Record<string | number, unknown>)[key];
  }
}

/** Problems in file order, so the output reads top to bottom (stable for equal lines). */
function byLine(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.col ?? 0) - (b.p.col ?? 0) || a.i - b.i)
    .map((x) => x.p);
}

function fail(p: Omit<Problem, 'severity'>): LoadResult {
  return { ok: false, problems: [{ severity: 'error', ...p }] };
}

function withLine(p: RawProblem, locate: (path: readonly PathSegment[]) => { line?: number; col?: number }): Problem {
  return { severity: p.severity, path: formatPath(p.path), message: p.message, ...(p.expected !== undefined && { expected: p.expected }), ...locate(p.path) };
}

/** Finds the deepest node of `path` that exists in the document, for its line. */
function locateInDocument(doc: Document, lc: LineCounter, path: readonly PathSegment[]): { line?: number; col?: number } {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === seg);
      if (pair === undefined) break;
      found = (pair.key as Node | null) ?? found;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      found = item as Node;
      node = item;
    } else break;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return {};
  const pos = lc.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** Turns a zod issue into problems whose words say what is wrong and what is expected. */
function issueProblems(issue: z.core.$ZodIssue, raw: unknown): RawProblem[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  const base = { severity: 'error' as const, path };
  switch (issue.code) {
    case 'invalid_type': {
      const got = valueAt(raw, path);
      if (got === undefined) return [{ ...base, message: 'is missing', expected: describeType(issue.expected) }];
      return [{ ...base, message: `is ${describeValue(got)}`, expected: describeType(issue.expected) }];
    }
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ ...base, path: [...path, k], message: 'unknown key', expected: knownKeysHint(path) }));
    case 'invalid_value':
      return [{ ...base, message: `${JSON.stringify(valueAt(raw, path))} is not allowed`, expected: `one of: ${issue.values.map((v) => String(v)).join(', ')}` }];
    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const d = issue.discriminator;
        // zod's path may or may not already end at the discriminator key.
        const at = path[path.length - 1] === d ? path : [...path, d];
        const options = 'options' in issue && issue.options !== undefined ? issue.options.map(String).join(', ') : 'a known value';
        return [{ ...base, path: at, message: `${JSON.stringify(valueAt(raw, at))} is not a known ${d}`, expected: `one of: ${options}` }];
      }
      return [{ ...base, message: issue.message }];
    }
    case 'invalid_key':
      return issue.issues.flatMap((inner) => issueProblems(inner, raw)).map((p) => ({ ...p, path: [...path, ...p.path] }));
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? 'at least' : 'at most';
      const unit = issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : '';
      const limit = String((issue as { minimum?: unknown; maximum?: unknown }).minimum ?? (issue as { maximum?: unknown }).maximum);
      return [{ ...base, message: `is ${describeValue(valueAt(raw, path))}`, expected: `${bound} ${limit}${unit}${issue.message.startsWith('expected') ? ` (${issue.message})` : ''}` }];
    }
    default: {
      // custom, invalid_format, not_multiple_of...: the schema wrote a message with its expectation.
      const [what, expected] = splitExpected(issue.message);
      return [{ ...base, message: what, ...(expected !== undefined && { expected }) }];
    }
  }
}

function splitExpected(message: string): [string, string | undefined] {
  const i = message.indexOf('; expected ');
  if (i >= 0) return [message.slice(0, i), message.slice(i + '; expected '.length)];
  if (message.startsWith('expected ')) return ['is not valid', message.slice('expected '.length)];
  return [message, undefined];
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function describeType(t: string): string {
  return ({ object: 'a map', array: 'a list', string: 'text', number: 'a number', boolean: 'true or false' } as Record<string, string>)[t] ?? t;
}

/** The keys a map at `path` accepts, from the schema's shape. */
function knownKeysHint(path: readonly PathSegment[]): string {
  let s: unknown = topologySchema;
  for (const seg of path) {
    s = unwrap(s);
    const shape = (s as { shape?: Record<string, unknown> }).shape;
    if (shape !== undefined && typeof seg === 'string' && seg in shape) s = shape[seg];
    else if (typeof seg === 'number' && (s as { element?: unknown }).element !== undefined) s = (s as { element: unknown }).element;
    else if ((s as { valueType?: unknown }).valueType !== undefined) s = (s as { valueType: unknown }).valueType;
    else return 'a known key (see the configuration reference)';
  }
  s = unwrap(s);
  const shape = (s as { shape?: Record<string, unknown> }).shape;
  if (shape !== undefined) return `one of: ${Object.keys(shape).join(', ')}`;
  const options = (s as { options?: unknown[] }).options;
  if (options !== undefined) {
    const keys = new Set(options.flatMap((o) => Object.keys((unwrap(o) as { shape?: object }).shape ?? {})));
    return `one of: ${[...keys].join(', ')}`;
  }
  return 'a known key (see the configuration reference)';
}

/** Looks through zod's wrappers (default, optional, pipe) to the schema inside. */
function unwrap(s: unknown): unknown {
  for (let i = 0; i < 8; i++) {
    const def = (s as { def?: { innerType?: unknown; in?: unknown; type?: string } }).def;
    if (def?.innerType !== undefined) s = def.innerType;
    else if (def?.type === 'pipe' && def.in !== undefined) s = def.in;
    else break;
  }
  return s;
}
