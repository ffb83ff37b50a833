// Static records' data, from the config's presentation form to what dns-packet encodes.
// Read once at compile time, so a bad value fails the server's construction with the
// form expected, and a query only copies ready records.
//
// Names inside values are absolute, the trailing dot optional (as Cloudflare and Route 53
// read them): `10 mail.shop.example.test` is that host, never mail.shop.example.test
// under the zone again. `.` is the root (a null MX, RFC 7505).

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Answer, CaaData } from 'dns-packet';
import { parseName } from './names.js';
import type { DnsStaticRecordType } from './types.js';

export interface RecordValue {
  /** Equal for equal data: duplicates collapse into one record (RFC 2181 §5). */
  readonly key: string;
  /** The name a CNAME, MX or SRV points at (lower-cased, '' for the root); else null. */
  readonly target: string | null;
  readonly build: (owner: string, ttlSec: number) => Answer;
}

export type RecordValueParse = { readonly ok: true; readonly value: RecordValue } | { readonly ok: false; readonly expected: string };

/** A character-string holds at most 255 bytes (RFC 1035 §3.3). */
const maxCharacterStringBytes = 255;
const uint16Max = 0xffff;

const bad = (expected: string): RecordValueParse => ({ ok: false, expected });
const ok = (key: string, target: string | null, build: RecordValue['build']): RecordValueParse => ({ ok: true, value: { key, target, build } });

export function parseRecordValue(type: DnsStaticRecordType, text: string): RecordValueParse {
  const v = text.trim();
  switch (type) {
    case 'A':
      return isIP(v) === 4 ? ok(v, null, (name, ttl) => ({ type, name, ttl, class: 'IN', data: v })) : bad('an IPv4 address like 192.0.2.1');
    case 'AAAA': {
      if (isIP(v) !== 6) return bad('an IPv6 address like 2001:db8::1');
      const canonical = ipaddr.parse(v).toString();
      return ok(canonical, null, (name, ttl) => ({ type, name, ttl, class: 'IN', data: canonical }));
    }
    case 'CNAME': {
      const target = targetName(v);
      if (target === null || target === '') return bad('a domain name like www.shop.example.test.');
      return ok(target, target, (name, ttl) => ({ type, name, ttl, class: 'IN', data: target }));
    }
    case 'MX': {
      const m = /^(\d{1,5})\s+(\S+)$/.exec(v);
      const exchange = m === null ? null : targetName(m[2]!);
      const preference = Number(m?.[1]);
      if (exchange === null || !(preference <= uint16Max)) return bad('"<preference> <host>", like "10 mail.shop.example.test."');
      return ok(`${preference} ${exchange}`, exchange, (name, ttl) => ({ type, name, ttl, class: 'IN', data: Object.freeze({ preference, exchange }) }));
    }
    case 'SRV': {
      const m = /^(\d{1,5})\s+(\d{1,5})\s+(\d{1,5})\s+(\S+)$/.exec(v);
      const target = m === null ? null : targetName(m[4]!);
      const [priority, weight, port] = [m?.[1], m?.[2], m?.[3]].map(Number) as [number, number, number];
      if (target === null || !(priority <= uint16Max && weight <= uint16Max && port <= uint16Max)) {
        return bad('"<priority> <weight> <port> <target>", like "10 5 5060 sip.shop.example.test."');
      }
      return ok(`${priority} ${weight} ${port} ${target}`, target, (name, ttl) => ({ type, name, ttl, class: 'IN', data: Object.freeze({ priority, weight, port, target }) }));
    }
    case 'TXT': {
      const strings = txtStrings(v);
      if (strings === null) return bad('text, or quoted strings of at most 255 bytes each: "v=spf1 -all" or "part one" "part two"');
      const key = strings.map((b) => b.toString('hex')).join(' ');
      // dns-packet writes each element as one character-string; Buffers, so it converts nothing in place.
      return ok(key, null, (name, ttl) => ({ type, name, ttl, class: 'IN', data: strings }));
    }
    case 'CAA': {
      // RFC 8659 §4.1: flags 0-255, a tag of 1-15 letters and digits, the value as a quoted string.
      const m = /^(\d{1,3})\s+([A-Za-z0-9]{1,15})\s+"((?:[^"\\]|\\.)*)"$/.exec(v);
      const flags = Number(m?.[1]);
      if (m === null || !(flags <= 255)) return bad('"<flags> <tag> \\"<value>\\"", like "0 issue \\"letsencrypt.org\\""');
      const value = unescapeQuoted(m[3]!).toString('utf8');
      // dns-packet's types list three tags, but it writes any tag as the string it is given.
      const tag = m[2]!.toLowerCase() as CaaData['tag'];
      return ok(`${flags} ${tag} ${value}`, null, (name, ttl) => ({ type, name, ttl, class: 'IN', data: Object.freeze({ flags, tag, value }) }));
    }
  }
}

/** An absolute name, the trailing dot optional; '.' is the root. Null if not a valid name. */
export function targetName(text: string): string | null {
  if (text === '.') return '';
  return parseName(text)?.join('.') ?? null;
}

/**
 * TXT data as character-strings: a value made of quoted strings ("a" "b", with \" \\ and
 * \DDD escapes) is taken string by string, each at most 255 bytes; any other text is one
 * string, cut every 255 bytes (SPF and DKIM readers join the pieces back, RFC 7208 §3.3).
 */
function txtStrings(v: string): Buffer[] | null {
  if (v.startsWith('"')) {
    const quoted = /"((?:[^"\\]|\\.)*)"/gy;
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < v.length) {
      quoted.lastIndex = offset;
      const m = quoted.exec(v);
      if (m === null) return null;
      const bytes = unescapeQuoted(m[1]!);
      if (bytes.length > maxCharacterStringBytes) return null;
      out.push(bytes);
      offset = quoted.lastIndex;
      const gap = /\s*/y;
      gap.lastIndex = offset;
      gap.exec(v);
      if (gap.lastIndex === offset && offset < v.length) return null; // "a""b": no space between strings
      offset = gap.lastIndex;
    }
    return out;
  }
  const all = Buffer.from(v, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += maxCharacterStringBytes) out.push(all.subarray(i, i + maxCharacterStringBytes));
  return out.length === 0 ? [Buffer.alloc(0)] : out;
}

/** Zone-file escapes inside quotes (RFC 1035 §5.1): \DDD is a byte, \X is X. */
function unescapeQuoted(s: string): Buffer {
  const parts: Buffer[] = [];
  let plain = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      plain += c;
      continue;
    }
    const ddd = /^\d{3}/.exec(s.slice(i + 1, i + 4));
    if (ddd !== null && Number(ddd[0]) <= 255) {
      parts.push(Buffer.from(plain, 'utf8'), Buffer.from([Number(ddd[0])]));
      plain = '';
      i += 3;
    } else {
      plain += s[i + 1] ?? '';
      i += 1;
    }
  }
  parts.push(Buffer.from(plain, 'utf8'));
  return Buffer.concat(parts);
}
