// Keeps one of node's nextTick queue entries alive for the life of the process, so that
// process.nextTick() stays on V8's fast path after the process has been idle.
//
// Why (measured 2026-11-26 with perf on a gateway node, bench/gateway's cache-hit load):
// process.nextTick() builds each queue entry with an object literal keyed by two internal
// symbols. V8 remembers the hidden classes ("maps") that literal produced in feedback that
// holds them weakly. When the node sits idle, V8's memory reducer runs full collections at a
// moment when no queue entry is alive, those maps die, the literal's feedback goes
// megamorphic for good, and from then on every nextTick (five or so per HTTP response: the
// streams' afterWrite, endReadable, resume...) goes through the C++ runtime
// (Runtime_DefineKeyedOwnPropertyInLiteral: 10% of the process's CPU in the profile). A
// cache hit cost 22 µs of CPU on a fresh node and 27–29 µs on one that had been idle for
// 30 s, for as long as it ran. One live entry keeps the maps, and with them the fast path.
// (`--no-memory-reducer` also avoids it, but gives up shrinking the heap when idle.)

import { createHook } from 'node:async_hooks';

let kept: object | undefined;

/** Captures one nextTick queue entry and keeps it (once per process; later calls return the
 *  same entry). The async hook is enabled only for the one nextTick below. */
export function keepTickObjectShape(): object | undefined {
  if (kept !== undefined) return kept;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'TickObject' && kept === undefined) kept = resource as object;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return kept;
}

/** Whether this process keeps an entry (a region node's start() captures one). */
export function tickObjectKept(): boolean {
  return kept !== undefined;
}

function noop(): void {}
