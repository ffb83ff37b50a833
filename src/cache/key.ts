// The primary cache key (RFC 9111 §2, §4): the target URI, normalised so equivalent
// spellings share one entry (RFC 3986 §6.2.2) and nothing that can differ in meaning is
// merged. Only GET responses are stored, and HEAD is answered from them, so the method is
// implied: the key is `host` + `path?query`.
//
// - host: lower-cased, a trailing dot dropped, and the default port dropped. The edge
//   speaks plain HTTP (the gateway sets x-forwarded-proto: http), so :80 is the default.
// - path and query: percent-encodings get upper-case hex, and encodings of unreserved
//   characters (ALPHA DIGIT - . _ ~) are decoded (§6.2.2.1, §6.2.2.2). Reserved characters
//   stay encoded: `%2F` is not `/`.
// - query parameters keep their order: they are not sorted, because an application may
//   read `?a=1&a=2` or `?sort=x&sort=y` in order, and merging those would serve one user's
//   answer to another question.
// - dot segments are not removed: the application sees the path as sent, so two spellings
//   could mean two things to it.
// - the fragment is never part of a request's meaning and is dropped.

export interface CacheKeyParts {
  /** Normalised authority: `host` or `host:port`. */
  readonly host: string;
  /** Normalised `path?query`, starting with "/". */
  readonly target: string;
  readonly key: string;
}

const absoluteForm = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/is;

export function cacheKey(host: string, path: string): CacheKeyParts {
  let authority = host;
  let target = path;
  // Origin-form (a leading "/") is nearly every request: no absolute-form match to try.
  const abs = path.startsWith('/') ? null : absoluteForm.exec(path);
  if (abs !== null) {
    // RFC 9112 §3.2.2: with absolute-form the target's authority replaces Host.
    authority = (abs[2] ?? '').replace(/^.*@/, '');
    target = abs[3] ?? '';
  }
  const h = normalisedHosts.get(authority) ?? rememberHost(authority);
  const t = normaliseTarget(target);
  return { host: h, target: t, key: h + t };
}

/**
 * Host values seen, normalised: a region answers for a handful of names, and every request
 * carries one. Bounded; forgotten all at once when full (a flood of made-up names costs a
 * normalisation each, nothing more).
 */
const normalisedHosts = new Map<string, string>();
const normalisedHostsMax = 1024;

function rememberHost(authority: string): string {
  const h = normaliseHost(authority);
  if (normalisedHosts.size >= normalisedHostsMax) normalisedHosts.clear();
  normalisedHosts.set(authority, h);
  return h;
}

export function normaliseHost(authority: string): string {
  let h = authority.trim().toLowerCase();
  const port = /:(\d*)$/.exec(h);
  // An IPv6 literal's colons sit inside brackets: only a colon after "]" (or in a name) is a port.
  if (port !== null && (!h.startsWith('[') || h.lastIndexOf(']') < port.index)) {
    const p = port[1] ?? '';
    if (p === '' || Number(p) === 80) h = h.slice(0, port.index);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function normaliseTarget(target: string): string {
  let t = target;
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  if (!t.startsWith('/')) t = '/' + t;
  if (!t.includes('%')) return t;
  return t.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + hex.toUpperCase();
  });
}

/** The path without the query: what cache rules match against. */
export function pathOnly(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

/**
 * A Location or Content-Location value resolved against the request's target (RFC 9111
 * §4.4), or null when it names another origin — those must not be invalidated — or does
 * not parse. The edge is plain HTTP, so the target's origin is http://host.
 */
export function sameOriginKey(host: string, target: string, reference: string): CacheKeyParts | null {
  let url: URL;
  try {
    url = new URL(reference, `http://${host}${target}`);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:') return null;
  const other = normaliseHost(url.host);
  if (other !== host) return null;
  // Resolution removes dot segments (RFC 3986 §5.2), as it must for a reference.
  return cacheKey(other, url.pathname + url.search);
}
