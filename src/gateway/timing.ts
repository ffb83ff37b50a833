// server-timing durations, in milliseconds with one decimal. Formatting a number with
// toFixed() on every response showed in the gateway's profile (bench/gateway), so the
// common values, 0.0 to 99.9 ms, are strings made once.

const tenthsMax = 1000;
const tenths: readonly string[] = Array.from({ length: tenthsMax }, (_, i) => (i / 10).toFixed(1));

export function durMs(ms: number): string {
  const t = Math.round(ms * 10);
  return t >= 0 && t < tenthsMax ? (tenths[t] as string) : ms.toFixed(1);
}
