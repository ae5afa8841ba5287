/**
 * The read-path tables (migrations 0003 and 0006) on a real store, SQLite and
 * PostgreSQL, written the way a bulk import writes (plain SQL, no RA):
 * per-status counts and the search terms stay equal to what the instances
 * say, through inserts, status changes, combination, new owners, new names
 * and deletion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { normalizeDomainQuery, prefixRange } from '../../src/ra/domain_search.js';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { backends, createPgDatabase } from '../support/certdesk.js';

for (const backend of await backends()) describe(`read paths in the store (${backend})`, () => {
  let dir: string;
  let opened: OpenedDatabase;
  let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>> | undefined;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'certdesk-read-paths-'));
    pgDatabase = backend === 'postgres' ? await createPgDatabase() : undefined;
    opened = await openDatabase({ dataDir: dir, ...(pgDatabase ? { databaseUrl: pgDatabase.url } : {}) });
    for (const id of ['usr_a', 'usr_b']) await opened.db.insertInto('users').values({ id, email: `${id}@example.com`, role: 'subscriber', password_hash: null, created_at: '2026-01-01T00:00:00.000Z' }).execute();
  });

  after(async () => {
    await opened?.close();
    await pgDatabase?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (id: string, owner: string, status: string, domains: string) =>
    sql`INSERT INTO instances (id, owner_id, product, domain_type, domain_count, term_months, status, domains_text, created_at, updated_at)
        VALUES (${id}, ${owner}, 'dv', 'multi', 3, 12, ${status}, ${domains}, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`.execute(opened.db);

  /** The counters next to the truth counted from the instances. */
  async function assertCountsTrue() {
    const kept = await sql<{ owner_id: string; status: string; n: number }>`SELECT owner_id, status, sum(n) AS n FROM instance_counts GROUP BY owner_id, status HAVING sum(n) <> 0 ORDER BY 1, 2`.execute(opened.db);
    const truth = await sql<{ owner_id: string; status: string; n: number }>`
      SELECT owner_id, status, count(*) AS n FROM instances WHERE combined_into IS NULL GROUP BY owner_id, status
      UNION ALL SELECT '*', status, count(*) FROM instances WHERE combined_into IS NULL GROUP BY status ORDER BY 1, 2`.execute(opened.db);
    assert.deepEqual(kept.rows, truth.rows);
  }

  const terms = async (id: string) => (await opened.db.selectFrom('instance_terms').select('term').where('instance_id', '=', id).orderBy('term').execute()).map((r) => r.term);

  test('inserts, status changes, combination and deletion keep the counts true', async () => {
    await insert('inst_1', 'usr_a', 'pending_application', '');
    await insert('inst_2', 'usr_a', 'issued', 'a.example.com');
    await insert('inst_3', 'usr_b', 'issued', 'b.example.com');
    await assertCountsTrue();
    await sql`UPDATE instances SET status = 'revoked' WHERE id = 'inst_2'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET combined_into = 'inst_3' WHERE id = 'inst_1'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET status = 'domain_verification', owner_id = 'usr_b' WHERE id = 'inst_1'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET combined_into = NULL WHERE id = 'inst_1'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET updated_at = 'x' WHERE id = 'inst_3'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET status = status WHERE id = 'inst_3'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET status = 'expired' WHERE owner_id = 'usr_b'`.execute(opened.db);
    await assertCountsTrue();
    await sql`UPDATE instances SET owner_id = 'usr_a' WHERE id = 'inst_3'`.execute(opened.db);
    await assertCountsTrue();
    await sql`DELETE FROM instances WHERE id = 'inst_3'`.execute(opened.db);
    await assertCountsTrue();
  });

  test('every bound name and its parents down to two labels are search terms, and follow changes', async () => {
    await insert('inst_t', 'usr_a', 'pending_application', 'www.shop.example.com *.example.org localhost');
    assert.deepEqual(await terms('inst_t'), ['*.example.org', 'example.com', 'example.org', 'localhost', 'shop.example.com', 'www.shop.example.com']);
    await sql`UPDATE instances SET domains_text = 'shop.example.net' WHERE id = 'inst_t'`.execute(opened.db);
    assert.deepEqual(await terms('inst_t'), ['example.net', 'shop.example.net']);
    await sql`UPDATE instances SET domains_text = '' WHERE id = 'inst_t'`.execute(opened.db);
    assert.deepEqual(await terms('inst_t'), []);
    await sql`UPDATE instances SET domains_text = 'a.example.com' WHERE id = 'inst_t'`.execute(opened.db);
    await sql`DELETE FROM instances WHERE id = 'inst_t'`.execute(opened.db);
    assert.deepEqual(await terms('inst_t'), []);
  });

  test('a query is normalized and matched as a prefix range', () => {
    assert.equal(normalizeDomainQuery('  Shop.Example.COM. '), 'shop.example.com');
    assert.deepEqual(prefixRange('example.co'), { from: 'example.co', to: 'example.cp' });
  });
});
