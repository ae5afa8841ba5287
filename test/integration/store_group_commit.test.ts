/**
 * Group commit on real SQLite files (WAL, the log fsynced by the batcher):
 * concurrent writers share commits, transactions are savepoints that roll
 * back alone, nothing is acknowledged before its COMMIT and the fsync of the
 * log, and a crash loses only what was never acknowledged. A second
 * connection on the same file stands for "what is on disk".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { Kysely, sql } from 'kysely';
import { durableReplies } from '../../src/api/durable_replies.js';
import { openDatabase } from '../../src/store/database.js';
import { GroupCommitSqlite } from '../../src/store/group_commit_sqlite.js';
import { type LogSync, WalSync } from '../../src/store/wal_sync.js';

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

async function open(file: string, logSync?: LogSync): Promise<{ db: Kysely<TestDb>; gc: GroupCommitSqlite; sqlite: SQLite.Database }> {
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  const gc = new GroupCommitSqlite(sqlite, logSync ? { logSync } : {});
  const db = new Kysely<TestDb>({ dialect: gc.dialect() });
  await sql`CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, note TEXT NOT NULL)`.execute(db);
  // Deferred: an orphan child is refused only at COMMIT, which is how these tests make a COMMIT fail.
  await sql`CREATE TABLE IF NOT EXISTS children (id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED)`.execute(db);
  await gc.whenDurable();
  return { db, gc, sqlite };
}

/** A disk whose fsyncs, once held, finish only when the test says, successfully or with an error. */
class ManualLogSync implements LogSync {
  completed = 0;
  holding = false;
  #waiting: { resolve(): void; reject(error: Error): void }[] = [];

  sync(): Promise<void> {
    if (!this.holding) {
      this.completed += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    this.holding = false;
    this.finish();
  }

  get pending(): number {
    return this.#waiting.length;
  }

  finish(error?: Error): void {
    for (const waiter of this.#waiting.splice(0)) {
      if (error) waiter.reject(error);
      else {
        this.completed += 1;
        waiter.resolve();
      }
    }
  }
}

/** An app whose replies wait for their commit; POST /items/:id saves a row. */
function itemsApp(db: Kysely<TestDb>, gc: GroupCommitSqlite): FastifyInstance {
  const app = Fastify();
  durableReplies(app, gc);
  app.post('/items/:id', async (req) => {
    const { id } = req.params as { id: string };
    await insert(db, id);
    return { saved: id };
  });
  return app;
}

/** `itemsApp` over a database whose log fsyncs are held by the test. */
async function appOnHeldDisk(): Promise<{ app: FastifyInstance; db: Kysely<TestDb>; gc: GroupCommitSqlite; disk: ManualLogSync }> {
  const disk = new ManualLogSync();
  const { db, gc } = await open(tempFile(), disk);
  disk.holding = true;
  return { app: itemsApp(db, gc), db, gc, disk };
}

/** Resolves once the batcher has run `count` more COMMITs than `before`. */
async function commitsReach(gc: GroupCommitSqlite, count: number): Promise<void> {
  for (let i = 0; gc.stats().commits < count; i++) {
    if (i > 500) throw new Error(`only ${gc.stats().commits} commits after 5 s, waiting for ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
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

  test('the batcher fsyncs the log itself: synchronous is NORMAL, and every acknowledged batch was fsynced', async () => {
    const file = tempFile();
    const { db, gc, sqlite } = await open(file);
    assert.equal(sqlite.pragma('synchronous', { simple: true }), 1, 'NORMAL: the COMMIT does not wait for the disk on the event loop');
    const before = gc.stats();
    for (let i = 0; i < 3; i++) {
      const mark = gc.mark();
      await insert(db, `s${i}`);
      await gc.whenDurable(mark);
      assert.ok(gc.stats().logSyncs > before.logSyncs + i, `write ${i} was acknowledged before any new fsync of the log`);
    }
    assert.equal(gc.stats().commits - before.commits, 3);
    await db.destroy();
  });

  test('a COMMIT is not acknowledged until the fsync of the log returns, nor is a read of what it wrote', async () => {
    const file = tempFile();
    const disk = new ManualLogSync();
    const { db, gc } = await open(file, disk);
    disk.holding = true;
    const writerMark = gc.mark();
    const commits = gc.stats().commits;
    await insert(db, 'committed-not-synced');
    await commitsReach(gc, commits + 1);
    assert.deepEqual(onDisk(file), ['committed-not-synced'], 'the COMMIT has run');
    // A request that starts now and reads the row must wait for the same fsync.
    const readerMark = gc.mark();
    assert.equal((await db.selectFrom('items').select('id').execute()).length, 1);
    const acknowledged: string[] = [];
    const writer = gc.whenDurable(writerMark).then(() => acknowledged.push('writer'));
    const reader = gc.whenDurable(readerMark).then(() => acknowledged.push('reader'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(acknowledged, [], 'nothing is acknowledged while the fsync runs');
    assert.equal(disk.pending, 1);
    disk.finish();
    await Promise.all([writer, reader]);
    assert.deepEqual(acknowledged.sort(), ['reader', 'writer']);
    await db.destroy();
  });

  test('a failed fsync of the log fails its batch like a failed COMMIT: 503 STORE_COMMIT_FAILED, and later batches work', async () => {
    const { app, db, gc, disk } = await appOnHeldDisk();
    const commits = gc.stats().commits;
    const lost = app.inject({ method: 'POST', url: '/items/unsynced' });
    await commitsReach(gc, commits + 1);
    disk.finish(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    const reply = await lost;
    assert.equal(reply.statusCode, 503);
    assert.equal(reply.json().error.code, 'STORE_COMMIT_FAILED');
    // Unlike a failed COMMIT, the change is visible to later reads, so the message does not claim nothing was saved.
    assert.match(reply.json().error.message, /disk did not confirm it \(EIO: i\/o error, fsync\).*check whether the change is there before trying again/);
    assert.equal(gc.stats().failedBatches, 1);
    const next = app.inject({ method: 'POST', url: '/items/next' });
    await commitsReach(gc, commits + 2);
    disk.finish();
    assert.equal((await next).statusCode, 200, 'a failed fsync does not poison later requests');
    await app.close();
    await db.destroy();
  });

  test('a route whose reply reports nothing stored leaves at once, while a write waits for its fsync', async () => {
    const { app, db, gc, disk } = await appOnHeldDisk();
    app.head('/nonce', { config: { reportsNoStoredState: true } }, async (_req, reply) => reply.header('replay-nonce', 'n1').send());
    app.get('/stored', async () => ({ items: (await db.selectFrom('items').select('id').execute()).map((r) => r.id) }));
    const commits = gc.stats().commits;
    let writeAnswered = false;
    const write = app.inject({ method: 'POST', url: '/items/held' }).then((r) => {
      writeAnswered = true;
      return r;
    });
    await commitsReach(gc, commits + 1);
    const nonce = await app.inject({ method: 'HEAD', url: '/nonce' });
    assert.equal(nonce.headers['replay-nonce'], 'n1');
    assert.equal(writeAnswered, false, 'the write is still waiting for the disk');
    let readAnswered = false;
    const read = app.inject({ method: 'GET', url: '/stored' }).then((r) => {
      readAnswered = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(readAnswered, false, 'a read of the committed row waits for the same fsync');
    disk.finish();
    assert.equal((await write).statusCode, 200);
    assert.deepEqual((await read).json(), { items: ['held'] });
    await app.close();
    await db.destroy();
  });

  test('callers that ask while an fsync runs share the next one', async () => {
    const file = tempFile();
    writeFileSync(file, 'a log file');
    const log = new WalSync(file);
    await Promise.all(Array.from({ length: 20 }, () => log.sync()));
    assert.ok(log.completed >= 1 && log.completed <= 2, `20 callers took ${log.completed} fsyncs`);
    await log.close();
    const missing = new WalSync(path.join(path.dirname(file), 'no-such-file-wal'));
    await assert.rejects(missing.sync(), /ENOENT/);
    await missing.close();
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
    const app = itemsApp(db, gc);
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
