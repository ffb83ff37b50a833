// Durations and sizes as people write them in config files: `500ms`, `1h30m`, `1d`,
// `256MB`, `1GiB`. Decimal units (kB, MB, GB) are powers of 1000, binary units
// (KiB, MiB, GiB) powers of 1024, as in IEC 80000-13.

const durationUnitsMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const sizeUnitsBytes: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Parses `500ms`, `30s`, `1h30m`, `1d`; returns milliseconds, or null if malformed. */
export function parseDurationMs(text: string): number | null {
  const s = text.trim();
  if (s === '' || s === '0') return s === '0' ? 0 : null;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = part.exec(s); m !== null; m = part.exec(s)) {
    total += Number(m[1]) * (durationUnitsMs[m[2] as string] as number);
    end = part.lastIndex;
  }
  return end === s.length ? Math.round(total) : null;
}

/** Parses `256MB`, `64KiB`, `1048576`; returns bytes, or null if malformed. */
export function parseSizeBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (m === null) return null;
  const unit = (m[2] as string).toLowerCase();
  const factor = unit === '' ? 1 : sizeUnitsBytes[unit];
  return factor === undefined ? null : Math.round(Number(m[1]) * factor);
}

export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  return `${+(ms / 3_600_000).toFixed(2)}h`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${+v.toFixed(1)}${units[i]}`;
}
