// A policy answer pre-encoded as the answer section of a reply: one A or AAAA record per
// address, its owner a compression pointer to the question's name (0xC00C), so the same
// bytes serve every query that gets this answer, whatever the name's case. Encoded once
// per answer object, by dns-packet (the encoder respond() uses, so the record data is the
// same bytes), after the same check respond() applies (checkPolicyAnswer).
//
// Keyed by the answer's identity: the node caches its answers per client subnet and
// returns the same object until health changes, so a hit costs a WeakMap lookup and a
// comparison. A WeakMap, so an entry lives exactly as long as the policy keeps its answer
// (the node bounds its cache at 50,000 answers): nothing here to bound or evict. A policy
// that builds a fresh object per query gets no hits and pays the check and the encoding
// each time, which is still less than respond()'s path.

import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { assert } from '../lib/index.js';
import { checkPolicyAnswer } from './lookup.js';
import type { DnsPolicyAnswer } from './types.js';
import { headerBytes } from './wire.js';

export interface AnswerBlock {
  /** Records in `bytes`: ANCOUNT. 0 for NODATA (the policy had no address of the family). */
  readonly count: number;
  /** The answer section, owners compressed to offset 12 (the question's name). */
  readonly bytes: Uint8Array;
}

interface Entry {
  readonly family: 4 | 6;
  readonly ttlSec: number;
  /** The answer's `addresses` array, and its elements as they were when encoded: a policy
   *  that changed an answer in place after returning it gets it re-encoded, not stale bytes. */
  readonly addresses: readonly unknown[];
  readonly given: readonly unknown[];
  readonly block: AnswerBlock;
}

/** The owner: a pointer (top bits 11) to the question's name right after the header. */
const ownerPointer = [0xc0 | (headerBytes >> 8), headerBytes & 0xff] as const;

export class AnswerBlocks {
  private readonly byAnswer = new WeakMap<object, Entry>();

  /** The encoded answer, or null when it is not a valid answer for `family` (respond()
   *  turns it into SERVFAIL and reports it). */
  blockFor(answer: unknown, family: 4 | 6): AnswerBlock | null {
    if (typeof answer !== 'object' || answer === null) return null;
    const a = answer as Partial<DnsPolicyAnswer>;
    const hit = this.byAnswer.get(answer);
    if (hit !== undefined && hit.family === family && hit.ttlSec === a.ttlSec && hit.addresses === a.addresses && sameElements(hit.given, hit.addresses)) return hit.block;

    const checked = checkPolicyAnswer(answer, family);
    if (!checked.ok) return null;
    const block = encodeBlock(checked.addresses, checked.ttlSec, family);
    this.byAnswer.set(answer, { family, ttlSec: checked.ttlSec, addresses: a.addresses!, given: [...a.addresses!], block });
    return block;
  }
}

function sameElements(given: readonly unknown[], now: readonly unknown[]): boolean {
  if (given.length !== now.length) return false;
  for (let i = 0; i < given.length; i++) if (given[i] !== now[i]) return false;
  return true;
}

/** dns-packet encodes the records with the root as owner (one 0 byte); each becomes the
 *  pointer plus the record's TYPE, CLASS, TTL, RDLENGTH and RDATA as encoded. */
export function encodeBlock(addresses: readonly string[], ttlSec: number, family: 4 | 6): AnswerBlock {
  const type = family === 4 ? 'A' : 'AAAA';
  const answers: Answer[] = addresses.map((data) => ({ type, name: '.', ttl: ttlSec, class: 'IN', data }));
  const packet = dnsPacket.encode({ type: 'response', id: 0, flags: 0, answers });
  const rdataBytes = family === 4 ? 4 : 16;
  const recordBytes = 1 + 10 + rdataBytes;
  assert(packet.length === headerBytes + addresses.length * recordBytes, `dns-packet encoded ${addresses.length} ${type} records in ${packet.length - headerBytes} bytes`);
  // Its own memory (Buffer.alloc, not the shared pool): a long-lived block must not pin a
  // pool slab that the short-lived replies around it were cut from.
  const bytes = Buffer.alloc(addresses.length * (ownerPointer.length + recordBytes - 1));
  let w = 0;
  for (let r = headerBytes; r < packet.length; r += recordBytes) {
    assert(packet[r] === 0, 'dns-packet wrote an owner other than the root');
    bytes[w++] = ownerPointer[0];
    bytes[w++] = ownerPointer[1];
    w += packet.copy(bytes, w, r + 1, r + recordBytes);
  }
  return { count: addresses.length, bytes };
}
