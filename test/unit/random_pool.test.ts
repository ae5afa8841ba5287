import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RandomPool } from '../../src/random_pool.js';

describe('RandomPool', () => {
  it('hands out every byte once, refilling when the next take does not fit', () => {
    const pool = new RandomPool(64);
    const seen = new Set<string>();
    // 40 takes of 12 bytes cross the 64-byte pool many times, with a remainder left over each fill.
    for (let i = 0; i < 40; i++) {
      const bytes = pool.take(12);
      assert.equal(bytes.length, 12);
      seen.add(bytes.toString('hex'));
    }
    assert.equal(seen.size, 40, 'no two takes return the same bytes');
  });

  it('returns bytes that look random, not a zero-filled or constant buffer', () => {
    const pool = new RandomPool(4096);
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256; i++) for (const b of pool.take(16)) counts[b] = (counts[b] ?? 0) + 1;
    // 4,096 bytes over 256 values: each value expected 16 times; none should dominate.
    assert.ok(Math.max(...counts) < 64, `a byte value came up ${Math.max(...counts)} times in 4,096`);
    assert.ok(counts.filter((c) => c > 0).length > 200);
  });

  it('refuses takes it cannot serve', () => {
    const pool = new RandomPool(32);
    assert.throws(() => pool.take(33), /1 to 32 bytes at a time, not 33/);
    assert.throws(() => pool.take(0), RangeError);
    assert.throws(() => pool.take(1.5), RangeError);
  });
});
