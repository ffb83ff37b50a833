// DNS over TCP frames each message with a 2-byte length (RFC 1035 §4.2.2, RFC 7766 §8):
// this cuts a byte stream into messages. The prefix bounds a message at 65,535 bytes, so
// at most one unfinished frame (65,537 bytes) is ever held per connection.

export const lengthPrefixBytes = 2;

export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the messages it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (buf.length - offset >= lengthPrefixBytes) {
      const len = buf.readUInt16BE(offset);
      if (buf.length - offset - lengthPrefixBytes < len) break;
      frames.push(buf.subarray(offset + lengthPrefixBytes, offset + lengthPrefixBytes + len));
      offset += lengthPrefixBytes + len;
    }
    // Copy the rest, so a small unfinished frame does not pin a large chunk in memory.
    this.pending = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    return frames;
  }

  /** Bytes of an unfinished frame held: never more than 65,537. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(lengthPrefixBytes + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, lengthPrefixBytes);
  return out;
}
