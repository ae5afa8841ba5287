import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DCV_DEADLINE_DAYS, dcvDeadline, nextCheckAt } from '../../src/ra/dcv_schedule.js';

const MINUTE = 60 * 1000;
const start = new Date('2024-03-01T10:00:00Z');
const farDeadline = dcvDeadline(start);

function minutesAfter(attempt: number, last: Date, deadline = farDeadline): number | null {
  const next = nextCheckAt(attempt, last, deadline);
  return next === null ? null : (next.getTime() - last.getTime()) / MINUTE;
}

describe('nextCheckAt', () => {
  test('backs off 1, 2, 4, 8, 16, 32 minutes, then an hour at most', () => {
    const delays = Array.from({ length: 10 }, (_, i) => minutesAfter(i + 1, start));
    assert.deepEqual(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
  });

  test('stays capped for very high attempt counts', () => {
    assert.equal(minutesAfter(1_000, start), 60);
    assert.equal(minutesAfter(5_000, start), 60);
  });

  test('a check exactly at the deadline still runs; one after it does not', () => {
    const last = new Date('2024-03-10T00:00:00Z');
    assert.equal(minutesAfter(3, last, new Date(last.getTime() + 4 * MINUTE)), 4);
    assert.equal(nextCheckAt(3, last, new Date(last.getTime() + 4 * MINUTE - 1)), null);
  });

  test('null once the deadline has passed', () => {
    assert.equal(nextCheckAt(1, new Date(farDeadline.getTime() + MINUTE), farDeadline), null);
  });

  test('checks run through the whole 30 days and then stop', () => {
    let last = start;
    let attempt = 1;
    for (let next = nextCheckAt(attempt, last, farDeadline); next !== null; next = nextCheckAt(attempt, last, farDeadline)) {
      assert.ok(next > last && next <= farDeadline);
      last = next;
      attempt += 1;
    }
    assert.ok(farDeadline.getTime() - last.getTime() < 60 * MINUTE, 'the last check is within the final hour');
    // 63 minutes of ramp-up (1+2+...+32), then hourly.
    assert.equal(attempt, 7 + Math.floor((DCV_DEADLINE_DAYS * 24 * 60 - 63) / 60));
  });

  test('attempt counts checks already run, from 1', () => {
    assert.throws(() => nextCheckAt(0, start, farDeadline), RangeError);
    assert.throws(() => nextCheckAt(1.5, start, farDeadline), RangeError);
  });
});

describe('dcvDeadline', () => {
  test(`a pending application expires ${DCV_DEADLINE_DAYS} days after it started waiting`, () => {
    assert.equal(DCV_DEADLINE_DAYS, 30);
    assert.equal(dcvDeadline(start).toISOString(), '2024-03-31T10:00:00.000Z');
  });
});
