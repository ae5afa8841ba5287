/** A query compiled once still answers each call with that call's arguments, also inside a transaction. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { prepared } from '../../src/store/prepared.js';

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
});
