/** Rows built from raw mode must be exactly the rows better-sqlite3's object mode returns, whatever the columns are called. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { rowFactory } from '../../src/store/row_factory.js';

describe('rowFactory', () => {
  const sqlite = new SQLite(':memory:');
  sqlite.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, r REAL, b BLOB, absent TEXT);
    INSERT INTO t VALUES ('a', 42, 1.5, x'00ff', NULL), ('b', -7, 0, x'', 'text');`);

  const queries = [
    'SELECT * FROM t ORDER BY id',
    // The same name twice: the last value wins, at the first position.
    'SELECT id, n AS id, r FROM t ORDER BY id',
    `SELECT id AS "hasOwnProperty", n AS "con""structor", r AS "a b", b AS "", absent AS toString FROM t ORDER BY id`,
    'SELECT count(*) AS count, max(n) AS "max(n)" FROM t',
    "SELECT * FROM t WHERE id = 'none'",
  ];

  for (const query of queries) {
    test(`matches object mode: ${query}`, () => {
      const expected = sqlite.prepare(query).all() as Record<string, unknown>[];
      const raw = sqlite.prepare(query).raw(true);
      const toRow = rowFactory(raw.columns().map((column) => column.name));
      const rows = (raw.all() as unknown[][]).map(toRow);
      assert.deepStrictEqual(rows, expected);
      rows.forEach((row, i) => assert.deepEqual(Object.keys(row), Object.keys(expected[i] ?? {})));
    });
  }

  test('a column named __proto__ is an own property, not the prototype (object mode drops it)', () => {
    const row = rowFactory(['__proto__', 'x'])(['value', 1]);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, 'value');
  });
});
