/**
 * Group commit on real SQLite files (WAL, synchronous=FULL): concurrent
 * writers share commits, transactions are savepoints that roll back alone,
 * nothing is acknowledged before its COMMIT, and a crash loses only what was
 * never acknowledged. A second connection on the same file stands for "what
 * is on disk".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { Kysely, sql } from 'kysely';
import { durableReplies } from '../../src/api/durable_replies.js';
import { openDatabase } from '../../src/store/database.js';
import { GroupCommitSqlite } from '../../src/store/group_commit_sqlite.js';

interface TestDb {
  items: { id: string; note: string };
  children: { id: string; item_id: string };
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certdesk-gc-'));
  dirs.push(dir);
  return path.join(dir, 'test.db');
}

async function open(file: string): Promise<{ db: Kysely<TestDb>; gc: GroupCommitSqlite }> {
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  const gc = new GroupCommitSqlite(sqlite);
  const db = new Kysely<TestDb>({ dialect: gc.dialect() });
  await sql`CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, note TEXT NOT NULL)`.execute(db);
  // Deferred: an orphan child is refused only at COMMIT, which is how these tests make a COMMIT fail.
  await sql`CREATE TABLE IF NOT EXISTS children (id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED)`.execute(db);
  await gc.whenDurable();
  return { db, gc };
}

/** Ids on disk, read through a separate connection. */
function onDisk(file: string, table = 'items', column = 'id'): string[] {
  const reader = new SQLite(file, { readonly: true });
  try {
    return (reader.prepare(`SELECT ${column} AS v FROM ${table} ORDER BY v`).all() as { v: string }[]).map((r) => r.v);
  } finally {
    reader.close();
  }
}

const insert = (db: Kysely<TestDb>, id: string) => db.insertInto('items').values({ id, note: id }).execute();

describe('group commit on SQLite', () => {
  test('concurrent writers and transactions share a handful of commits, and every write lands', async () => {
    const file = tempFile();
    const { db, gc } = await open(file);
    const before = gc.stats().commits;
    await Promise.all([
      ...Array.from({ length: 100 }, (_, i) => insert(db, `a${String(i).padStart(3, '0')}`)),
      ...Array.from({ length: 50 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          await insert(trx, `t${String(i).padStart(3, '0')}`);
          await trx.updateTable('items').set({ note: 'updated' }).where('id', '=', `t${String(i).padStart(3, '0')}`).execute();
        }),
      ),
    ]);
    await gc.whenDurable();
    const commits = gc.stats().commits - before;
    assert.ok(commits >= 1 && commits <= 3, `150 concurrent writers took ${commits} commits`);
    assert.equal(onDisk(file).length, 150);
    await db.destroy();
  });

  test('a write is not on disk, and whenDurable has not resolved, until the batch commits', async () => {
    const file = tempFile();
    const { db, gc } = await open(file);
    const mark = gc.mark();
    await insert(db, 'pending');
    // The writer's own connection sees it at once; the file does not yet.
    assert.equal((await db.selectFrom('items').select('id').execute()).length, 1);
    assert.deepEqual(onDisk(file), []);
    let durable = false;
    const waiting = gc.whenDurable(mark).then(() => {
      durable = true;
      return onDisk(file);
    });
    await Promise.resolve();
    assert.equal(durable, false);
    assert.deepEqual(await waiting, ['pending']);
    await db.destroy();
  });

  test('a transaction that throws undoes only its own writes; the batch around it commits', async () => {
    const file = tempFile();
    const { db, gc } = await open(file);
    const results = await Promise.allSettled([
      insert(db, 'before'),
      db.transaction().execute(async (trx) => {
        await insert(trx, 'doomed-1');
        await insert(trx, 'doomed-2');
        throw new Error('the caller changed its mind');
      }),
      db.transaction().execute(async (trx) => insert(trx, 'kept')),
      insert(db, 'after'),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    await gc.whenDurable();
    assert.deepEqual(onDisk(file), ['after', 'before', 'kept']);
    await db.destroy();
  });

  test('a failing statement, inside a transaction or on its own, leaves the rest of the batch intact', async () => {
    const file = tempFile();
    const { db, gc } = await open(file);
    await insert(db, 'existing');
    await gc.whenDurable();
    const mark = gc.mark();
    const results = await Promise.allSettled([
      insert(db, 'one'),
      db.transaction().execute(async (trx) => {
        await insert(trx, 'half-done');
        await insert(trx, 'existing'); // UNIQUE constraint
      }),
      insert(db, 'existing'),
      insert(db, 'two'),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    await gc.whenDurable(mark);
    assert.deepEqual(onDisk(file), ['existing', 'one', 'two']);
    assert.equal(gc.stats().failedBatches, 0);
    await db.destroy();
  });

  test('a failed COMMIT is reported to everyone who wrote since their mark, and the next batch works', async () => {
    const file = tempFile();
    const { db, gc } = await open(file);
    const mark = gc.mark();
    await insert(db, 'innocent');
    await db.insertInto('children').values({ id: 'orphan', item_id: 'missing' }).execute();
    await assert.rejects(gc.whenDurable(mark), (err: Error & { code?: string; status?: number }) => err.code === 'STORE_COMMIT_FAILED' && err.status === 503);
    assert.deepEqual(onDisk(file), []);
    assert.equal((await db.selectFrom('items').select('id').execute()).length, 0, 'the lost batch is not visible to later reads either');
    const later = gc.mark();
    await insert(db, 'retried');
    await gc.whenDurable(later);
    assert.deepEqual(onDisk(file), ['retried']);
    assert.equal(gc.stats().failedBatches, 1);
    await db.destroy();
  });

  test('closing commits what is pending; the data is there after reopening', async () => {
    const file = tempFile();
    const first = await open(file);
    await insert(first.db, 'kept-by-close');
    await first.db.destroy();
    const second = await open(file);
    assert.deepEqual((await second.db.selectFrom('items').select('id').execute()).map((r) => r.id), ['kept-by-close']);
    await second.db.destroy();
  });

  test('a crash loses only what was never acknowledged', async () => {
    const file = tempFile();
    await (await open(file)).db.destroy();
    const module = fileURLToPath(new URL('../../src/store/group_commit_sqlite.js', import.meta.url));
    const script = `
      import SQLite from 'better-sqlite3';
      import { Kysely } from 'kysely';
      import { GroupCommitSqlite } from ${JSON.stringify(module)};
      const sqlite = new SQLite(${JSON.stringify(file)});
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = FULL');
      const gc = new GroupCommitSqlite(sqlite);
      const db = new Kysely({ dialect: gc.dialect() });
      await db.insertInto('items').values({ id: 'acknowledged', note: '' }).execute();
      await gc.whenDurable();
      process.stdout.write('acknowledged\\n');
      await db.insertInto('items').values({ id: 'in-flight', note: '' }).execute();
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.dirname(module), encoding: 'utf8' });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    assert.equal(child.stdout, 'acknowledged\n');
    assert.deepEqual(onDisk(file), ['acknowledged']);
  });

  test('openDatabase runs the migrations through the batcher and exposes its durability', async () => {
    const dir = path.dirname(tempFile());
    const opened = await openDatabase({ dataDir: dir });
    const mark = opened.durability.mark();
    await opened.db.insertInto('settings').values({ key: 'probe', value: '"x"' }).execute();
    await opened.durability.whenDurable(mark);
    assert.ok(onDisk(path.join(dir, 'certdesk.db'), 'settings', 'key').includes('probe'));
    await opened.close();
  });
});

describe('replies wait for their commit', () => {
  test('a reply leaves only after its writes are on disk; a failed COMMIT turns it into 503 STORE_COMMIT_FAILED', async () => {
    const file = tempFile();
    const { db, gc } = await open(file);
    const app = Fastify();
    durableReplies(app, gc);
    app.post('/items/:id', async (req) => {
      const { id } = req.params as { id: string };
      await insert(db, id);
      return { saved: id };
    });
    app.post('/orphans/:id', async (req) => {
      const { id } = req.params as { id: string };
      await db.insertInto('children').values({ id, item_id: 'missing' }).execute();
      return { saved: id };
    });
    const saved = await app.inject({ method: 'POST', url: '/items/ok' });
    assert.equal(saved.statusCode, 200);
    assert.deepEqual(onDisk(file), ['ok'], 'on disk by the time the reply arrives');
    const lost = await app.inject({ method: 'POST', url: '/orphans/o1' });
    assert.equal(lost.statusCode, 503);
    assert.equal(lost.json().error.code, 'STORE_COMMIT_FAILED');
    assert.deepEqual(onDisk(file, 'children'), []);
    const next = await app.inject({ method: 'POST', url: '/items/next' });
    assert.equal(next.statusCode, 200, 'a failure does not poison later requests');
    await app.close();
    await db.destroy();
  });
});
