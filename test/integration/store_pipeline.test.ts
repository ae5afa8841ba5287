/**
 * A pipeline sends a step's statements together; on both backends a
 * pipelined transaction keeps all of its writes or none, a guard on its first
 * statement can refuse the rest, reads can follow a transaction's COMMIT,
 * and the connections stay usable after a failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { ReadBack } from '../../src/store/pipeline.js';
import { backends, createPgDatabase } from '../support/certdesk.js';

const AT = '2026-01-01T00:00:00.000Z';

for (const backend of await backends()) {
  describe(`statement pipeline (${backend})`, () => {
    let dir: string;
    let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>> | null = null;
    let opened: OpenedDatabase;

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'certdesk-pipeline-'));
      pgDatabase = backend === 'postgres' ? await createPgDatabase() : null;
      opened = await openDatabase({ dataDir: dir, ...(pgDatabase ? { databaseUrl: pgDatabase.url } : {}) });
    });

    after(async () => {
      await opened?.close();
      await pgDatabase?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const insertUser = (id: string, email = `${id}@example.com`) => opened.db.insertInto('users').values({ id, email, role: 'subscriber', password_hash: null, created_at: AT }).compile();
    const userIds = async (prefix: string) =>
      (await opened.db.selectFrom('users').select('id').where('id', 'like', `${prefix}%`).orderBy('id').execute()).map((u) => u.id);

    test('a transaction keeps every write and reports what each changed', async () => {
      const results = await opened.pipeline.transaction([
        insertUser('ok_1'),
        insertUser('ok_2'),
        opened.db.updateTable('users').set({ role: 'reviewer' }).where('id', 'in', ['ok_1', 'ok_2']).compile(),
      ]);
      assert.deepEqual(results.map((r) => Number(r.numAffectedRows)), [1, 1, 2]);
      assert.deepEqual(await userIds('ok_'), ['ok_1', 'ok_2']);
      const roles = await opened.db.selectFrom('users').select('role').where('id', 'like', 'ok_%').execute();
      assert.deepEqual(roles.map((r) => r.role), ['reviewer', 'reviewer']);
    });

    test('a statement that fails undoes the ones before it and stops the ones after it', async () => {
      await opened.pipeline.transaction([insertUser('taken_1', 'taken@example.com')]);
      await assert.rejects(
        opened.pipeline.transaction([insertUser('lost_1'), insertUser('lost_2', 'taken@example.com'), insertUser('lost_3')]),
        (error: Error) => /unique/i.test(error.message),
      );
      assert.deepEqual(await userIds('lost_'), []);
      // Every pooled connection still answers (none was left inside the failed transaction).
      const answers = await Promise.all(Array.from({ length: 12 }, () => userIds('taken_')));
      assert.ok(answers.every((ids) => ids.join() === 'taken_1'));
    });

    test('batches sent in the same turn keep their own outcomes: a failed transaction undoes only itself', async () => {
      await opened.pipeline.transaction([insertUser('turn_0', 'turn@example.com')]);
      const byPrefix = opened.db.selectFrom('users').select('id').where('id', 'like', 'turn_%').orderBy('id').compile();
      // Started together, so on PostgreSQL they leave on one shared connection in one write.
      const refuseUnlessChanged = { guardFirst: () => new Error('turn_0 is not a reviewer') };
      const [failed, refused, committed, read, later] = await Promise.allSettled([
        opened.pipeline.transaction([insertUser('turn_a1'), insertUser('turn_a2', 'turn@example.com'), insertUser('turn_a3')]),
        opened.pipeline.transaction([opened.db.updateTable('users').set({ role: 'admin' }).where('id', '=', 'turn_0').where('role', '=', 'reviewer').compile(), insertUser('turn_g1')], refuseUnlessChanged),
        opened.pipeline.transaction([insertUser('turn_b1')]),
        opened.pipeline.reads([byPrefix]),
        opened.pipeline.transaction([insertUser('turn_c1'), opened.db.updateTable('users').set({ role: 'reviewer' }).where('id', '=', 'turn_c1').compile()]),
      ]);
      assert.equal(failed.status, 'rejected');
      assert.match((failed as PromiseRejectedResult).reason.message, /unique/i);
      assert.equal(refused.status, 'rejected');
      assert.equal((refused as PromiseRejectedResult).reason.message, 'turn_0 is not a reviewer');
      assert.equal(committed.status, 'fulfilled');
      assert.equal(later.status, 'fulfilled', 'a transaction after the failed one on the same connection commits');
      assert.equal(read.status, 'fulfilled');
      assert.deepEqual(await userIds('turn_'), ['turn_0', 'turn_b1', 'turn_c1']);
      assert.equal((await opened.db.selectFrom('users').select('role').where('id', '=', 'turn_c1').executeTakeFirstOrThrow()).role, 'reviewer');
    });

    // PostgreSQL's shared connections (pg_lanes.ts); SQLite has no connections to make.
    if (backend === 'postgres') test('batches in consecutive turns all answer while the connections they share are still being made', async () => {
      await opened.pipeline.transaction([insertUser('early_1')]);
      // Each round on a fresh pool; whether a connection gets ready during a turn that uses it is down to timing, so five rounds.
      for (let round = 0; round < 5; round++) {
        const fresh = await openDatabase({ dataDir: dir, databaseUrl: pgDatabase?.url ?? '' });
        try {
          const byId = fresh.db.selectFrom('users').select('id').where('id', '=', 'early_1').compile();
          const pending: Promise<unknown[][]>[] = [];
          // A batch every turn for 100 ms: turns come back to a shared connection while it is still being made, and when it gets ready.
          for (const start = performance.now(); performance.now() - start < 100; ) {
            pending.push(fresh.pipeline.reads([byId]));
            await new Promise((resolve) => setImmediate(resolve));
          }
          const timedOut = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 5000).unref());
          const answered = await Promise.race([Promise.all(pending), timedOut]);
          assert.notEqual(answered, 'timed out', `every batch of round ${round} answered`);
          assert.ok((answered as unknown[][][]).every(([rows]) => JSON.stringify(rows) === '[{"id":"early_1"}]'));
        } finally {
          await fresh.close();
        }
        await assert.rejects(fresh.pipeline.reads([fresh.db.selectFrom('users').select('id').compile()]), { code: 'DATABASE_UNAVAILABLE' }, 'a batch after closing is refused, not left waiting');
      }
    });

    test('a guard on the first statement refuses the rest, and lets them through when it holds', async () => {
      await opened.pipeline.transaction([insertUser('guard_1')]);
      const promote = (from: 'subscriber' | 'reviewer') => opened.db.updateTable('users').set({ role: 'admin' }).where('id', '=', 'guard_1').where('role', '=', from).compile();
      const onlyIfChanged = { guardFirst: () => new Error('the role changed meanwhile') };
      await assert.rejects(opened.pipeline.transaction([promote('reviewer'), insertUser('guard_2')], onlyIfChanged), /the role changed meanwhile/);
      assert.deepEqual(await userIds('guard_'), ['guard_1']);
      const results = await opened.pipeline.transaction([promote('subscriber'), insertUser('guard_3')], onlyIfChanged);
      assert.deepEqual(results.map((r) => Number(r.numAffectedRows)), [1, 1]);
      assert.deepEqual(await userIds('guard_'), ['guard_1', 'guard_3']);
      assert.equal((await opened.db.selectFrom('users').select('role').where('id', '=', 'guard_1').executeTakeFirstOrThrow()).role, 'admin');
      // Exactly one row: a guard that changes two refuses too.
      const demoteBoth = opened.db.updateTable('users').set({ role: 'subscriber' }).where('id', 'in', ['guard_1', 'guard_3']).compile();
      await assert.rejects(opened.pipeline.transaction([demoteBoth, insertUser('guard_4')], onlyIfChanged), /the role changed meanwhile/);
      assert.deepEqual(await userIds('guard_'), ['guard_1', 'guard_3']);
      assert.equal((await opened.db.selectFrom('users').select('role').where('id', '=', 'guard_1').executeTakeFirstOrThrow()).role, 'admin');
    });

    test("a transaction's read-back sees what it committed, guarded or not; a failed one leaves it to read by itself", async () => {
      const byId = (id: string) => opened.db.selectFrom('users').select(['id', 'role']).where('id', '=', id).compile();
      const readBack = new ReadBack([byId('back_1'), byId('back_none')]);
      const results = await opened.pipeline.transaction([insertUser('back_1'), opened.db.updateTable('users').set({ role: 'reviewer' }).where('id', '=', 'back_1').compile()], { readBack });
      assert.deepEqual(results.map((r) => Number(r.numAffectedRows)), [1, 1], "the results are the transaction's own statements");
      assert.deepEqual(readBack.rows, [[{ id: 'back_1', role: 'reviewer' }], []]);

      const guarded = new ReadBack([byId('back_1')]);
      const promote = opened.db.updateTable('users').set({ role: 'admin' }).where('id', '=', 'back_1').where('role', '=', 'reviewer').compile();
      await opened.pipeline.transaction([promote, insertUser('back_2')], { guardFirst: () => new Error('the role changed meanwhile'), readBack: guarded });
      assert.deepEqual(guarded.rows, [[{ id: 'back_1', role: 'admin' }]]);

      const failed = new ReadBack([byId('back_1')]);
      await assert.rejects(opened.pipeline.transaction([insertUser('back_3', 'back_1@example.com')], { readBack: failed }), (error: Error) => /unique/i.test(error.message));
      assert.equal(failed.rows, undefined);
      assert.deepEqual(await failed.read(opened.pipeline), [[{ id: 'back_1', role: 'admin' }]], 'read() reads now when the transaction did not');
    });

    test('a read the step holds is not sent with the transaction; its rows stand in its place, and only there', async () => {
      await opened.pipeline.transaction([insertUser('held_1')]);
      const byId = (id: string) => opened.db.selectFrom('users').select(['id', 'role']).where('id', '=', id).compile();
      const readBack = new ReadBack([byId('held_1'), byId('held_2'), byId('held_1')], { second: 1 });
      // Held rows that the database would never return show that the second read was not sent.
      readBack.hold('second', [{ id: 'held_2', role: 'as held' }]);
      assert.equal(readBack.pending.length, 2);
      await opened.pipeline.transaction([insertUser('held_2'), opened.db.updateTable('users').set({ role: 'reviewer' }).where('id', '=', 'held_1').compile()], { readBack });
      assert.deepEqual(readBack.rows, [[{ id: 'held_1', role: 'reviewer' }], [{ id: 'held_2', role: 'as held' }], [{ id: 'held_1', role: 'reviewer' }]]);

      const notCommitted = new ReadBack([byId('held_2')], { only: 0 });
      notCommitted.hold('only', [{ id: 'held_2', role: 'as held' }]);
      assert.deepEqual(await notCommitted.read(opened.pipeline), [[{ id: 'held_2', role: 'subscriber' }]], 'without a transaction every read is run now');
    });

    test('batches never see the writes of a transaction still open across awaits, and keep none of one rolled back', async () => {
      const byId = (id: string) => opened.db.selectFrom('users').select('id').where('id', '=', id).compile();
      let opening!: () => void;
      const opened_ = new Promise<void>((resolve) => (opening = resolve));
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      let committed = false;
      const open = opened.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ id: 'open_1', email: 'open_1@example.com', role: 'subscriber', password_hash: null, created_at: AT }).execute();
        opening();
        await finished;
      });
      await opened_;
      // On SQLite the batches wait for the one connection; on PostgreSQL they run beside the open transaction.
      const read = opened.pipeline.reads([byId('open_1')]).then(([rows]) => ({ rows, committed }));
      const written = opened.pipeline.transaction([insertUser('open_2')]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      committed = true;
      finish();
      await open;
      const seen = await read;
      assert.deepEqual(seen.rows.map((r) => r.id), seen.committed ? ['open_1'] : []);
      await written;
      assert.deepEqual(await userIds('open_'), ['open_1', 'open_2']);

      const refused = opened.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ id: 'undone_1', email: 'undone_1@example.com', role: 'subscriber', password_hash: null, created_at: AT }).execute();
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('changed its mind');
      });
      const [[duringRollback]] = await Promise.all([opened.pipeline.reads([byId('undone_1')]), assert.rejects(refused, /changed its mind/)]);
      assert.deepEqual(duringRollback, []);
      assert.deepEqual(await userIds('undone_'), []);
    });

    test('reads come back in the order they were given, each with its own rows', async () => {
      await opened.pipeline.transaction([insertUser('read_a'), insertUser('read_b')]);
      const byId = (id: string) => opened.db.selectFrom('users').select(['id', 'email']).where('id', '=', id).compile();
      const [b, missing, a] = await opened.pipeline.reads([byId('read_b'), byId('read_none'), byId('read_a')]);
      assert.deepEqual(b, [{ id: 'read_b', email: 'read_b@example.com' }]);
      assert.deepEqual(missing, []);
      assert.deepEqual(a, [{ id: 'read_a', email: 'read_a@example.com' }]);
    });

    test('a read that fails is reported and the others still answer', async () => {
      const bad = opened.db.selectFrom('users').select('id').where('id', '=', 'read_a').compile();
      await assert.rejects(opened.pipeline.reads([bad, { ...bad, sql: 'select no_such_column from users' }]), /no_such_column|no such column/);
      assert.deepEqual((await opened.pipeline.reads([bad]))[0], [{ id: 'read_a' }]);
    });
  });
}
