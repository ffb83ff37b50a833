// The DNS message header and question as bytes (RFC 1035 §4.1). dns-packet decodes and
// encodes the rest; these few reads are by hand because the header must be readable even
// when the rest is garbage (to answer FORMERR), and because the question is echoed byte
// for byte: dns-packet turns labels into UTF-8 strings, which would mangle a name with a
// dot or a non-UTF-8 byte inside a label, and with it the resolver's check of our reply.

export const headerBytes = 12;

export const flagQr = 0x8000;
export const flagAa = 0x0400;
export const flagTc = 0x0200;
export const flagRd = 0x0100;

export const opcodeQuery = 0;

export const rcodeNumber = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (RFC 6891 §9): 16 = upper bits 1 in the OPT, lower 4 bits 0 in the header. */
  BADVERS: 16,
} as const;

export const qtype = { A: 1, NS: 2, CNAME: 5, SOA: 6, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255, CAA: 257 } as const;
export const qclass = { IN: 1, ANY: 255 } as const;

export interface Header {
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
  readonly qdcount: number;
}

/** Null when the message is too short to hold a header: nothing to answer to. */
export function readHeader(msg: Uint8Array): Header | null {
  if (msg.length < headerBytes) return null;
  const flags = (msg[2]! << 8) | msg[3]!;
  return { id: (msg[0]! << 8) | msg[1]!, flags, opcode: (flags >> 11) & 0xf, qdcount: (msg[4]! << 8) | msg[5]! };
}

/** Worth an answer at all: a readable header without QR. respond() drops the rest, so the
 *  rate limiter need not spend a token on them. */
export function isQueryMessage(msg: Uint8Array): boolean {
  return msg.length >= headerBytes && (msg[2]! & 0x80) === 0;
}

/** The smallest question (root name, type, class) and record (plus TTL and RDLENGTH). */
const minQuestionBytes = 5;
const minRecordBytes = 11;

/** False when the header claims more questions and records than the message could hold:
 *  such a message cannot decode, and handing it to dns-packet anyway costs four arrays of
 *  up to 65,535 slots (about a millisecond) for a 12-byte packet. */
export function countsFit(msg: Uint8Array): boolean {
  if (msg.length < headerBytes) return false;
  const count = (at: number) => (msg[at]! << 8) | msg[at + 1]!;
  return count(4) * minQuestionBytes + (count(6) + count(8) + count(10)) * minRecordBytes <= msg.length - headerBytes;
}

export interface Question {
  /** Labels as sent (latin1: one char per byte, so nothing is lost). */
  readonly labels: readonly string[];
  readonly type: number;
  readonly class: number;
  /** The question's bytes exactly as received: echoed in the reply. */
  readonly raw: Buffer;
}

/** Max name length on the wire (RFC 1035 §2.3.4). */
const maxNameBytes = 255;

/** Reads the first question, right after the header. Null if it is malformed or uses a
 *  compression pointer (there is nothing before the question it could point at). */
export function readQuestion(msg: Buffer): Question | null {
  let offset = headerBytes;
  const labels: string[] = [];
  for (;;) {
    if (offset >= msg.length) return null;
    const len = msg[offset]!;
    if (len === 0) break;
    if ((len & 0xc0) !== 0) return null;
    if (offset + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', offset + 1, offset + 1 + len));
    offset += 1 + len;
    if (offset - headerBytes + 1 > maxNameBytes) return null;
  }
  offset += 1; // the root label
  if (offset + 4 > msg.length) return null;
  const type = msg.readUInt16BE(offset);
  const klass = msg.readUInt16BE(offset + 2);
  offset += 4;
  return { labels, type, class: klass, raw: msg.subarray(headerBytes, offset) };
}

/** A reply with a header only (no question): for messages whose question cannot be read. */
export function headerOnlyReply(query: Header, rcode: number, tc = false): Buffer {
  const out = Buffer.alloc(headerBytes);
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(replyFlags(query, rcode, { aa: false, tc }), 2);
  return out;
}

/** QR set, the query's opcode and RD copied (RFC 1035 §4.1.1), RA clear: no recursion here. */
export function replyFlags(query: Header, rcode: number, bits: { aa: boolean; tc: boolean }): number {
  return flagQr | (query.opcode << 11) | (bits.aa ? flagAa : 0) | (bits.tc ? flagTc : 0) | (query.flags & flagRd) | (rcode & 0xf);
}

/** Puts the question's raw bytes into a reply that dns-packet encoded with no question.
 *  Safe because dns-packet never compresses names, so no offset inside the reply moves
 *  meaning when the question is inserted before it. */
export function spliceQuestion(encoded: Buffer, question: Buffer): Buffer {
  const out = Buffer.allocUnsafe(encoded.length + question.length);
  encoded.copy(out, 0, 0, headerBytes);
  question.copy(out, headerBytes);
  encoded.copy(out, headerBytes + question.length, headerBytes);
  out.writeUInt16BE(1, 4);
  return out;
}
