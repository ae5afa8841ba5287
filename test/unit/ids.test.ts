import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId, sortableTime } from '../../src/store/ids.js';

test('sortable times compare byte by byte in the order of the times they encode', () => {
  const times = [0, 1, 63, 64, 65, 4095, 4096, 1_700_000_000_000, 1_700_000_000_001, Date.parse('2026-12-02T00:00:00Z'), Date.parse('2999-01-01T00:00:00Z'), 64 ** 8 - 1];
  const encoded = times.map(sortableTime);
  for (const text of encoded) assert.match(text, /^[A-Za-z0-9_-]{8}$/);
  assert.deepEqual([...encoded].sort(), encoded);
  assert.equal(new Set(encoded).size, times.length);
  for (let i = 0; i < 10_000; i++) {
    const a = Math.floor(Math.random() * 64 ** 8);
    const b = Math.floor(Math.random() * 64 ** 8);
    assert.equal(Math.sign(Buffer.compare(Buffer.from(sortableTime(a)), Buffer.from(sortableTime(b)))), Math.sign(a - b), `${a} against ${b}`);
  }
});

test('ids carry their prefix, are URL-safe, differ within one millisecond and sort by creation time', async () => {
  const first = Array.from({ length: 1000 }, () => newId('inst'));
  for (const id of first) assert.match(id, /^inst_[A-Za-z0-9_-]{20}$/);
  assert.equal(new Set(first).size, first.length);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const later = newId('inst');
  for (const id of first) assert.ok(id < later, `${id} sorts before ${later}`);
});
