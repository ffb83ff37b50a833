// Domain names as the zone compares them: lower-cased labels joined by dots, no trailing
// dot. Comparison is ASCII case-insensitive (RFC 4343); labels are checked as a config
// value, never as wire data (the wire parser in wire.ts keeps raw labels).

const labelPattern = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** RFC 1035 §2.3.4: 255 octets on the wire, so 253 characters in text form. */
const maxNameChars = 253;

/** 'WWW.Shop.Example.Test.' -> ['www', 'shop', 'example', 'test']; null if not a valid host name. */
export function parseName(text: string): string[] | null {
  const trimmed = text.trim().toLowerCase().replace(/\.$/, '');
  if (trimmed === '' || trimmed.length > maxNameChars) return null;
  const labels = trimmed.split('.');
  return labels.every((l) => labelPattern.test(l)) ? labels : null;
}

/** ASCII-only lower-casing: DNS case folding must not touch bytes above 0x7f (RFC 4343 §3). */
export function foldCase(label: string): string {
  return label.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** True when `labels` is `zone` or below it. Both lower-cased. */
export function isWithin(labels: readonly string[], zone: readonly string[]): boolean {
  if (labels.length < zone.length) return false;
  const offset = labels.length - zone.length;
  for (let i = 0; i < zone.length; i++) if (labels[offset + i] !== zone[i]) return false;
  return true;
}
