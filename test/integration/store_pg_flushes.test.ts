/**
 * On PostgreSQL the pipeline's transactions commit without waiting for the
 * disk and share one flush of the log per turn of the event loop; nothing
 * counts as durable before that flush has answered, and a flush that fails is
 * reported to everyone who may have relied on it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { openDatabase } from '../../src/store/database.js';
import { namedStatementPool, type NamedStatementPool } from '../../src/store/pg_named_statements.js';
import { backends, createPgDatabase } from '../support/certdesk.js';
import { makeTempDir } from '../support/daemon.js';

interface TestDb {
  notes: { id: number; text: string };
}

const onPostgres = (await backends()).includes('postgres');

describe('group commit on PostgreSQL', { skip: !onPostgres && 'PostgreSQL is not reachable' }, () => {
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  const opened: { db: Kysely<TestDb>; named: NamedStatementPool }[] = [];
  let admin: pg.Client;

  /** A store over its own pool; `flushSql` replaces the flush statement. */
  const open = (flushSql?: string) => {
    const named = namedStatementPool(new pg.Pool({ connectionString: database.url, max: 4, pipeline: true } as pg.PoolConfig), flushSql ? { flushSql } : {});
    const db = new Kysely<TestDb>({ dialect: new PostgresDialect({ pool: named }) });
    opened.push({ db, named });
    return { db, named };
  };
  const insert = (db: Kysely<TestDb>, id: number) => db.insertInto('notes').values({ id, text: `note ${id}` }).compile();
  /** PostgreSQL's LSN text (hi/lo hex) as a number. */
  const lsnValue = (text: string) => text.split('/').reduce((n, part) => n * 2 ** 32 + Number.parseInt(part, 16), 0);
  /** How far the log is on disk. */
  const flushedLsn = async () => lsnValue((await admin.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn')).rows[0]?.lsn ?? '');

  before(async () => {
    database = await createPgDatabase();
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('CREATE TABLE notes (id integer PRIMARY KEY, text text NOT NULL)');
  });

  after(async () => {
    for (const { db } of opened) await db.destroy().catch(() => undefined);
    await admin?.end();
    await database?.drop();
  });

  test("one turn's transactions share one flush, and whenDurable waits until the log is on disk up to their commits", async () => {
    const { db, named } = open();
    const flushedBefore = named.durability.completed;
    const mark = named.durability.mark();
    // Sent in one turn: no await between them. Each note keeps where the log stood inside its transaction.
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((id) => named.pipeline.transaction([db.insertInto('notes').values({ id, text: sql<string>`pg_current_wal_insert_lsn()::text` }).compile()])),
    );
    assert.deepEqual(results.map(([r]) => Number(r?.numAffectedRows)), [1, 1, 1, 1, 1]);
    await named.durability.whenDurable(mark);
    const flushed = await flushedLsn();
    const { rows: notes } = await admin.query<{ text: string }>('SELECT text FROM notes WHERE id <= 5');
    for (const note of notes) assert.ok(flushed > lsnValue(note.text), `the log is on disk past the commit after ${note.text}`);
    assert.equal(named.durability.completed - flushedBefore, 1, 'five transactions, one flush');
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM notes WHERE id <= 5');
    assert.equal(rows[0].n, 5);
  });

  test('a turn that only reads sends no flush', async () => {
    const { db, named } = open();
    await named.pipeline.transaction([insert(db, 10)]);
    await named.durability.whenDurable();
    const flushed = named.durability.completed;
    const [rows] = await named.pipeline.reads([db.selectFrom('notes').select('id').where('id', '=', 10).compile()]);
    assert.deepEqual(rows, [{ id: 10 }]);
    await named.durability.whenDurable();
    assert.equal(named.durability.completed, flushed);
  });

  test('a flush that fails makes everything since the mark STORE_COMMIT_FAILED (503); a mark taken after it is not failed by it', async () => {
    const { db, named } = open('SELECT certdesk_no_such_function()');
    const mark = named.durability.mark();
    await named.pipeline.transaction([insert(db, 20)]);
    await assert.rejects(named.durability.whenDurable(mark), (error: { code?: string; status?: number; message?: string }) => {
      assert.equal(error.code, 'STORE_COMMIT_FAILED');
      assert.equal(error.status, 503);
      assert.match(error.message ?? '', /did not confirm it reached the disk/);
      return true;
    });
    // The store stays usable, and a mark taken after the failure is not failed by it.
    await named.durability.whenDurable(named.durability.mark());
    const [rows] = await named.pipeline.reads([db.selectFrom('notes').select('id').where('id', '=', 20).compile()]);
    assert.deepEqual(rows, [{ id: 20 }]);
  });

  test("the flush makes another connection's earlier commit durable too", async () => {
    const { db, named } = open();
    // A commit elsewhere that does not wait for the disk.
    await admin.query('BEGIN');
    await admin.query('SET LOCAL synchronous_commit TO off');
    await admin.query('INSERT INTO notes VALUES (30, pg_current_wal_insert_lsn()::text)');
    await admin.query('COMMIT');
    await named.pipeline.transaction([insert(db, 31)]);
    await named.durability.whenDurable();
    const { rows } = await admin.query<{ text: string }>('SELECT text FROM notes WHERE id = 30');
    assert.ok((await flushedLsn()) > lsnValue(rows[0]?.text ?? ''));
  });

  test('a role that may not run the flush statement gets a COMMIT that waits for the disk by itself, and a warning', async () => {
    const role = `certdesk_noflush_${process.pid}`;
    const restricted = await createPgDatabase();
    const owner = new pg.Client({ connectionString: restricted.url });
    await owner.connect();
    try {
      await owner.query(`CREATE ROLE ${role} LOGIN`);
      await owner.query(`GRANT ALL ON SCHEMA public TO ${role}`);
      await owner.query('REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text), pg_logical_emit_message(boolean, text, bytea) FROM PUBLIC');
      const url = new URL(restricted.url);
      url.username = role;
      let logged = '';
      const logger = pino({ level: 'warn' }, { write: (line: string) => void (logged += line) });
      const store = await openDatabase({ dataDir: makeTempDir('pg-noflush'), databaseUrl: url.toString(), logger });
      try {
        assert.match(logged, /refuses pg_logical_emit_message/);
        const mark = store.durability.mark();
        await store.pipeline.transaction([store.db.insertInto('users').values({ id: 'u1', email: 'u1@example.com', role: 'subscriber', password_hash: null, created_at: '2026-01-01T00:00:00.000Z' }).compile()]);
        await store.durability.whenDurable(mark);
        const { rows } = await owner.query('SELECT count(*)::int AS n FROM users');
        assert.equal(rows[0].n, 1);
      } finally {
        await store.close();
      }
    } finally {
      await owner.end();
      await restricted.drop();
      const cleanup = new pg.Client({ connectionString: database.url });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE IF EXISTS ${role}`);
      await cleanup.end();
    }
  });
});
