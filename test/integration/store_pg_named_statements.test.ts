/**
 * On PostgreSQL, data statements run as named prepared statements: each
 * connection prepares a query shape once and reuses it with every call's own
 * arguments; DDL and parameterless statements run unnamed; a connection holds
 * at most its cap of names, and shapes past it still run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { namedStatementPool, statementName } from '../../src/store/pg_named_statements.js';
import { backends, createPgDatabase } from '../support/certdesk.js';

interface TestDb {
  people: { id: number; name: string };
}

const onPostgres = (await backends()).includes('postgres');

describe('named prepared statements on PostgreSQL', { skip: !onPostgres && 'PostgreSQL is not reachable' }, () => {
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  let db: Kysely<TestDb>;

  before(async () => {
    database = await createPgDatabase();
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    db = new Kysely<TestDb>({ dialect: new PostgresDialect({ pool: namedStatementPool(pool, { maxPerConnection: 3 }) }) });
    await db.schema.createTable('people').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text', (c) => c.notNull()).execute();
    await db.insertInto('people').values([{ id: 1, name: 'ada' }, { id: 2, name: 'grace' }, { id: 3, name: 'edsger' }]).execute();
  });

  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** The names prepared on the connection `trx` runs on. */
  async function preparedOnConnection(trx: Kysely<TestDb>): Promise<{ name: string; statement: string }[]> {
    const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by prepare_time`.execute(trx);
    return rows;
  }

  test('a query shape is prepared once per connection and answers each call with its own arguments', async () => {
    await db.transaction().execute(async (trx) => {
      const before = (await preparedOnConnection(trx)).length;
      const byId = (id: number) => trx.selectFrom('people').select('name').where('id', '=', id).executeTakeFirst();
      assert.deepEqual(await byId(1), { name: 'ada' });
      assert.deepEqual(await byId(2), { name: 'grace' });
      assert.equal(await byId(99), undefined);
      const prepared = await preparedOnConnection(trx);
      assert.equal(prepared.length, before + 1, 'three calls, one prepared statement');
      assert.match(prepared.at(-1)?.statement ?? '', /^select "name" from "people" where "id" = \$1$/);
      assert.equal(prepared.at(-1)?.name, statementName(prepared.at(-1)?.statement ?? ''));
    });
  });

  test('past the cap, new shapes run unnamed and still answer', async () => {
    await db.transaction().execute(async (trx) => {
      const names = ['ada', 'grace', 'edsger', 'ada', 'grace'];
      // Five shapes: the IN list grows by one each time.
      for (let n = 1; n <= 5; n++) {
        const rows = await trx.selectFrom('people').select('id').where('name', 'in', names.slice(0, n)).orderBy('id').execute();
        assert.deepEqual(rows.map((r) => r.id), n === 1 ? [1] : n === 2 ? [1, 2] : [1, 2, 3]);
      }
      assert.equal((await preparedOnConnection(trx)).length, 3);
    });
  });

  test('writes and their results go through named statements too', async () => {
    const inserted = await db.insertInto('people').values({ id: 4, name: 'barbara' }).returning('name').executeTakeFirst();
    assert.deepEqual(inserted, { name: 'barbara' });
    const updated = await db.updateTable('people').set({ name: 'barbara liskov' }).where('id', '=', 4).executeTakeFirst();
    assert.equal(updated.numUpdatedRows, 1n);
    assert.deepEqual(await db.selectFrom('people').select('name').where('id', '=', 4).executeTakeFirst(), { name: 'barbara liskov' });
  });
});

describe('statementName', () => {
  test('data statements get a stable name derived from their text; DDL and other commands none', () => {
    const select = 'select "name" from "people" where "id" = $1';
    assert.equal(statementName(select), statementName(select));
    assert.notEqual(statementName(select), statementName('select "name" from "people" where "id" = $2'));
    assert.match(statementName(select) ?? '', /^cd_[A-Za-z0-9_-]{24}$/);
    for (const text of ['insert into "people" values ($1)', 'UPDATE people SET name = $1', 'delete from people where id = $1', 'with x as (select 1) select * from x']) {
      assert.ok(statementName(text), text);
    }
    for (const text of ['create table people (id int)', 'alter table people add column x int', 'begin', 'drop index people_name']) {
      assert.equal(statementName(text), null, text);
    }
  });
});
