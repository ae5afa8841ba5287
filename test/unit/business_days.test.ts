import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addBusinessDays, expectedIssueWindow } from '../../src/ra/business_days.js';

const at = (iso: string): Date => new Date(iso);

// 2024-03-01 is a Friday; 2024-03-02/03 the weekend; 2024-03-04 a Monday.
describe('addBusinessDays', () => {
  test('the calendar is what the cases below assume', () => {
    assert.equal(at('2024-03-01T00:00:00Z').getUTCDay(), 5);
    assert.equal(at('2024-03-04T00:00:00Z').getUTCDay(), 1);
  });

  const cases: [from: string, days: number, expected: string][] = [
    ['2024-03-01T10:00:00Z', 3, '2024-03-06T10:00:00.000Z'], // Friday + 3 = Wednesday, same time
    ['2024-03-01T10:00:00Z', 1, '2024-03-04T10:00:00.000Z'], // Friday + 1 = Monday
    ['2024-03-04T09:30:00Z', 4, '2024-03-08T09:30:00.000Z'], // Monday + 4 = Friday
    ['2024-03-04T09:30:00Z', 5, '2024-03-11T09:30:00.000Z'], // Monday + 5 = next Monday
    ['2024-03-06T12:00:00Z', 7, '2024-03-15T12:00:00.000Z'], // Wednesday + 7 crosses one weekend
    ['2024-03-01T10:00:00Z', 10, '2024-03-15T10:00:00.000Z'], // two weekends
    ['2024-03-01T10:00:00Z', 0, '2024-03-01T10:00:00.000Z'],
    // A weekend submission counts from Monday 00:00.
    ['2024-03-02T15:00:00Z', 3, '2024-03-07T00:00:00.000Z'], // Saturday + 3 = Thursday 00:00
    ['2024-03-03T23:59:00Z', 3, '2024-03-07T00:00:00.000Z'], // Sunday + 3 = Thursday 00:00
    ['2024-03-02T15:00:00Z', 0, '2024-03-04T00:00:00.000Z'], // Saturday + 0 = Monday 00:00
    ['2024-12-28T08:00:00Z', 3, '2025-01-02T00:00:00.000Z'], // across the year end
  ];
  for (const [from, days, expected] of cases) {
    test(`${from} + ${days} business days = ${expected}`, () => {
      assert.equal(addBusinessDays(at(from), days).toISOString(), expected);
    });
  }

  test('a later submission never gets an earlier date', () => {
    const friday = addBusinessDays(at('2024-03-01T23:59:00Z'), 3);
    const saturday = addBusinessDays(at('2024-03-02T00:01:00Z'), 3);
    assert.ok(saturday >= friday);
  });

  test('does not modify its argument', () => {
    const from = at('2024-03-02T15:00:00Z');
    addBusinessDays(from, 3);
    assert.equal(from.toISOString(), '2024-03-02T15:00:00.000Z');
  });

  test('negative or fractional days are a programming error', () => {
    assert.throws(() => addBusinessDays(at('2024-03-01T00:00:00Z'), -1), RangeError);
    assert.throws(() => addBusinessDays(at('2024-03-01T00:00:00Z'), 1.5), RangeError);
  });
});

describe('expectedIssueWindow', () => {
  test('DV: from submission to two hours later, weekend or not', () => {
    for (const submitted of ['2024-03-01T10:00:00Z', '2024-03-02T23:30:00Z']) {
      const window = expectedIssueWindow('dv', at(submitted));
      assert.equal(window.earliest.toISOString(), at(submitted).toISOString());
      assert.equal(window.latest.getTime() - window.earliest.getTime(), 2 * 60 * 60 * 1000);
    }
  });

  for (const product of ['ov', 'ev'] as const) {
    test(`${product.toUpperCase()}: 3 to 7 business days`, () => {
      const window = expectedIssueWindow(product, at('2024-03-01T10:00:00Z'));
      assert.equal(window.earliest.toISOString(), '2024-03-06T10:00:00.000Z');
      assert.equal(window.latest.toISOString(), '2024-03-12T10:00:00.000Z');
    });

    test(`${product.toUpperCase()} submitted on a weekend counts from Monday`, () => {
      const window = expectedIssueWindow(product, at('2024-03-03T12:00:00Z'));
      assert.equal(window.earliest.toISOString(), '2024-03-07T00:00:00.000Z');
      assert.equal(window.latest.toISOString(), '2024-03-13T00:00:00.000Z');
    });
  }
});
