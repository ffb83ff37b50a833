// Field types shared by the schema: durations, sizes, addresses, with messages that say
// what a right value looks like.

import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDurationMs, parseSizeBytes } from '../lib/index.js';

/** A duration with a unit (`500ms`, `30s`, `1h30m`, `1d`), parsed to milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? (v === 0 ? 0 : null) : parseDurationMs(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a duration; expected a number with a unit: ms, s, m, h or d (like 500ms, 30s, 1d)` });
    return z.NEVER;
  }
  return ms;
});

/** A size with a unit (`256MB`, `64KiB`, or plain bytes), parsed to bytes. */
export const sizeBytes = z.union([z.string(), z.number().int().nonnegative()]).transform((v, ctx) => {
  const bytes = typeof v === 'number' ? v : parseSizeBytes(v);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a size; expected a number with a unit: B, kB, MB, GB, KiB, MiB, GiB (like 256MB)` });
    return z.NEVER;
  }
  return bytes;
});

export const ipAddress = z.string().refine((s) => isIP(s) !== 0, {
  message: 'not an IP address; expected an IPv4 or IPv6 address like 127.0.1.1',
});

/** `host:port` or `[v6]:port`; the host must be an IP address (a node binds to it). */
export const hostPort = z.string().transform((s, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || isIP(host) === 0 || !(port >= 1 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not an address; expected IP:port like 127.0.1.1:7070 or [::1]:7070` });
    return z.NEVER;
  }
  return { host, port };
});

export const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { message: 'not an http(s) URL; expected a URL like http://127.0.0.1:9001' },
);

export const regionIdField = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'not a region id; expected lower-case letters, digits and dashes, like eu-west-1');

export const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}\.?$)([a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/,
    'not a DNS name; expected labels of letters, digits and dashes separated by dots, like shop.example.test',
  );
