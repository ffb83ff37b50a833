import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, FrameReader } from '../../src/dns/framing.js';

test('framing: messages split at every byte are reassembled in order', () => {
  const messages = [Buffer.from('first message'), Buffer.alloc(0), Buffer.alloc(300, 7)];
  const stream = Buffer.concat(messages.map(frame));
  const reader = new FrameReader();
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...reader.push(stream.subarray(i, i + 1)));
  assert.deepEqual(out, messages);
  assert.equal(reader.bufferedBytes, 0);
});

test('framing: several messages in one chunk, the last one unfinished', () => {
  const stream = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('bb')), frame(Buffer.from('ccc')).subarray(0, 3)]);
  const reader = new FrameReader();
  assert.deepEqual(reader.push(stream), [Buffer.from('a'), Buffer.from('bb')]);
  assert.equal(reader.bufferedBytes, 3);
  assert.deepEqual(reader.push(Buffer.from('cc')), [Buffer.from('ccc')]);
});

test('framing: at most one maximal frame is held', () => {
  const reader = new FrameReader();
  const prefix = Buffer.from([0xff, 0xff]);
  assert.deepEqual(reader.push(Buffer.concat([prefix, Buffer.alloc(65_534)])), []);
  assert.equal(reader.bufferedBytes, 65_536);
  assert.equal(reader.push(Buffer.alloc(1)).length, 1);
  assert.equal(reader.bufferedBytes, 0);
});
