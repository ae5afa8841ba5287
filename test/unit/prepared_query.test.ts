/** A query compiled once still answers each call with that call's arguments, also inside a transaction; an insert or update compiled once writes each call's values; a query compiled once per shape answers each call's list. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { sql } from 'kysely';
import { compiledOnce, insertRows, prepared, updateWhere } from '../../src/store/prepared.js';

describe('prepared queries (SQLite)', () => {
  let dir: string;
  let opened: OpenedDatabase;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'certdesk-prepared-'));
    opened = await openDatabase({ dataDir: dir });
    for (const [id, role] of [['usr_a', 'subscriber'], ['usr_b', 'admin']] as const) {
      await opened.db.insertInto('users').values({ id, email: `${id}@example.com`, role, password_hash: null, created_at: '2026-01-01T00:00:00.000Z' }).execute();
    }
  });

  after(async () => {
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const userByEmail = prepared((db, email: string) => db.selectFrom('users').select(['id', 'role']).where('email', '=', email));

  test('each call binds its own arguments', async () => {
    assert.deepEqual(await userByEmail(opened.db, 'usr_a@example.com'), [{ id: 'usr_a', role: 'subscriber' }]);
    assert.deepEqual(await userByEmail(opened.db, 'usr_b@example.com'), [{ id: 'usr_b', role: 'admin' }]);
    assert.deepEqual(await userByEmail(opened.db, 'nobody@example.com'), []);
  });

  test('inside a transaction it sees the transaction’s writes', async () => {
    await opened.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values({ id: 'usr_c', email: 'usr_c@example.com', role: 'reviewer', password_hash: null, created_at: '2026-01-01T00:00:00.000Z' }).execute();
      assert.deepEqual(await userByEmail(trx, 'usr_c@example.com'), [{ id: 'usr_c', role: 'reviewer' }]);
    });
  });

  test('a query whose parameters are not the arguments in order is refused', async () => {
    const swapped = prepared((db, email: string, role: 'admin') => db.selectFrom('users').select('id').where('role', '=', role).where('email', '=', email));
    await assert.rejects(() => swapped(opened.db, 'usr_b@example.com', 'admin'), /not the arguments in order/);
  });

  const user = (id: string, role: 'subscriber' | 'reviewer' | 'admin' = 'subscriber') => ({ id, email: `${id}@example.com`, role, password_hash: null, created_at: '2026-01-01T00:00:00.000Z' });
  const stored = async (prefix: string) => opened.db.selectFrom('users').select(['id', 'role', 'password_hash']).where('id', 'like', `${prefix}%`).orderBy('id').execute();

  test('an insert reuses its compiled SQL and stores each call’s own row', async () => {
    const first = insertRows(opened.db, 'users', user('ins_1'));
    const second = insertRows(opened.db, 'users', user('ins_2', 'admin'));
    assert.equal(second.sql, first.sql);
    assert.equal(second.query, first.query, 'the second call was not compiled again');
    for (const query of [first, second]) await opened.db.executeQuery(query);
    assert.deepEqual(await stored('ins_'), [
      { id: 'ins_1', role: 'subscriber', password_hash: null },
      { id: 'ins_2', role: 'admin', password_hash: null },
    ]);
  });

  test('rows of other columns, counts or key order get their own SQL', async () => {
    const { password_hash: _omitted, ...withoutHash } = user('col_1');
    const reordered = { created_at: '2026-01-01T00:00:00.000Z', role: 'reviewer' as const, email: 'col_3@example.com', id: 'col_3', password_hash: 'h' };
    await opened.db.executeQuery(insertRows(opened.db, 'users', withoutHash));
    await opened.db.executeQuery(insertRows(opened.db, 'users', [user('col_2'), reordered]));
    await opened.db.executeQuery(insertRows(opened.db, 'users', { ...user('col_4'), password_hash: undefined }));
    assert.deepEqual(await stored('col_'), [
      { id: 'col_1', role: 'subscriber', password_hash: null },
      { id: 'col_2', role: 'subscriber', password_hash: null },
      { id: 'col_3', role: 'reviewer', password_hash: 'h' },
      { id: 'col_4', role: 'subscriber', password_hash: null },
    ]);
  });

  test('a row holding an SQL expression is compiled for that call', async () => {
    const plain = insertRows(opened.db, 'users', user('expr_1'));
    const withExpression = insertRows(opened.db, 'users', { ...user('expr_2'), role: sql<'admin'>`'ad' || 'min'` });
    assert.notEqual(withExpression.sql, plain.sql);
    for (const query of [plain, withExpression]) await opened.db.executeQuery(query);
    assert.deepEqual((await stored('expr_')).map((u) => u.role), ['subscriber', 'admin']);
  });

  test('an update reuses its compiled SQL, changes only the rows its conditions name, and reports how many', async () => {
    for (const id of ['upd_1', 'upd_2', 'upd_3']) await opened.db.executeQuery(insertRows(opened.db, 'users', user(id)));
    const promote = (id: string, from: 'subscriber' | 'reviewer') => updateWhere(opened.db, 'users', { role: 'admin', password_hash: `h-${id}` }, { id, role: from });
    const first = promote('upd_1', 'subscriber');
    const second = promote('upd_2', 'subscriber');
    const refused = promote('upd_3', 'reviewer');
    assert.equal(second.query, first.query, 'the second call was not compiled again');
    const changed = [];
    for (const query of [first, second, refused]) changed.push(Number((await opened.db.executeQuery(query)).numAffectedRows));
    assert.deepEqual(changed, [1, 1, 0], 'the role condition held for the first two only');
    assert.deepEqual(await stored('upd_'), [
      { id: 'upd_1', role: 'admin', password_hash: 'h-upd_1' },
      { id: 'upd_2', role: 'admin', password_hash: 'h-upd_2' },
      { id: 'upd_3', role: 'subscriber', password_hash: null },
    ]);
    await opened.db.executeQuery(updateWhere(opened.db, 'users', { role: 'reviewer', password_hash: undefined }, { id: 'upd_3' }));
    await opened.db.executeQuery(updateWhere(opened.db, 'users', { role: sql<'reviewer'>`'re' || 'viewer'` }, { id: 'upd_2' }));
    assert.deepEqual((await stored('upd_')).map((u) => [u.role, u.password_hash]), [
      ['admin', 'h-upd_1'],
      ['reviewer', 'h-upd_2'],
      ['reviewer', null],
    ]);
  });

  test('a query compiled once per shape reuses its SQL for lists of one length and answers each call’s own values', async () => {
    for (const id of ['lst_1', 'lst_2', 'lst_3']) await opened.db.executeQuery(insertRows(opened.db, 'users', user(id, id === 'lst_2' ? 'admin' : 'subscriber')));
    const roles = (ids: string[]) =>
      compiledOnce(opened.db, `test roles ×${ids.length}`, ids, () => opened.db.selectFrom('users').select(['id', 'role']).where('id', 'in', ids).orderBy('id').compile());
    const first = roles(['lst_1', 'lst_2']);
    const second = roles(['lst_3', 'nobody']);
    assert.equal(second.query, first.query, 'the second list of two was not compiled again');
    assert.deepEqual((await opened.db.executeQuery(first)).rows, [{ id: 'lst_1', role: 'subscriber' }, { id: 'lst_2', role: 'admin' }]);
    assert.deepEqual((await opened.db.executeQuery(second)).rows, [{ id: 'lst_3', role: 'subscriber' }]);
    assert.deepEqual((await opened.db.executeQuery(roles(['lst_2']))).rows, [{ id: 'lst_2', role: 'admin' }]);
    // Values the query does not bind in this order: compiled for each call, still right.
    const byRole = (role: 'admin' | 'subscriber') => compiledOnce(opened.db, 'test by role', [], () => opened.db.selectFrom('users').select('id').where('role', '=', role).where('id', 'like', 'lst_%').orderBy('id').compile());
    assert.deepEqual((await opened.db.executeQuery(byRole('admin'))).rows, [{ id: 'lst_2' }]);
    assert.deepEqual((await opened.db.executeQuery(byRole('subscriber'))).rows, [{ id: 'lst_1' }, { id: 'lst_3' }]);
  });
});
