/**
 * Schema migrations, written once for both dialects with Kysely's portable
 * schema builder. Append new migrations; never edit a released one.
 */
import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

function initial(dialect: Dialect): Migration {
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('product', 'text', (c) => c.notNull())
        .addColumn('domain_type', 'text', (c) => c.notNull())
        .addColumn('domain_count', 'integer', (c) => c.notNull())
        .addColumn('term_months', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('combined_into', 'text')
        .addColumn('domains_text', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('submission_round', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('submitted_at', 'text')
        .addColumn('expected_issue_earliest', 'text')
        .addColumn('expected_issue_latest', 'text')
        .addColumn('failure_reason', 'text')
        .addColumn('certificate_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instances_owner_status').on('instances').columns(['owner_id', 'status', 'created_at']).execute();
      await db.schema.createIndex('instances_status').on('instances').columns(['status', 'created_at']).execute();
      await db.schema
        .createTable('applications')
        .addColumn('instance_id', 'text', (c) => c.primaryKey().references('instances.id'))
        .addColumn('domains', 'text', (c) => c.notNull())
        .addColumn('contact', 'text', (c) => c.notNull())
        .addColumn('organization', 'text')
        .addColumn('csr_mode', 'text', (c) => c.notNull())
        .addColumn('key_algorithm', 'text')
        .addColumn('csr_pem', 'text')
        .addColumn('key_sealed', 'text')
        .addColumn('email_confirm_token_hash', 'text')
        .addColumn('email_confirmed_at', 'text')
        .addColumn('phone_verification', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('applications_confirm_token').on('applications').column('email_confirm_token_hash').execute();
      await db.schema
        .createTable('validations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('dns_name', 'text')
        .addColumn('dns_value', 'text')
        .addColumn('file_url', 'text')
        .addColumn('file_content', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('last_results', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_check_at', 'text')
        .addColumn('validated_at', 'text')
        .addColumn('deadline', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('validations_instance').on('validations').column('instance_id').execute();
      await db.schema.createIndex('validations_due').on('validations').columns(['status', 'next_check_at']).execute();
      await db.schema
        .createTable('documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('mime', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('content', sql.raw(blob), (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('documents_instance').on('documents').column('instance_id').execute();
      await db.schema
        .createTable('reviews')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
        .addColumn('reviewer_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reviews_instance').on('reviews').columns(['instance_id', 'round']).execute();
      await db.schema
        .createTable('events')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text')
        .addColumn('actor_id', 'text')
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_instance').on('events').columns(['instance_id', 'id']).execute();
      await db.schema
        .createTable('certificates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('serial', 'text', (c) => c.notNull().unique())
        .addColumn('common_name', 'text', (c) => c.notNull())
        .addColumn('names', 'text', (c) => c.notNull())
        .addColumn('not_before', 'text', (c) => c.notNull())
        .addColumn('not_after', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('key_algorithm', 'text', (c) => c.notNull())
        .addColumn('signature_algorithm', 'text', (c) => c.notNull())
        .addColumn('sha1', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('pem', 'text', (c) => c.notNull())
        .addColumn('chain_pem', 'text', (c) => c.notNull())
        .addColumn('key_sealed', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revocation_reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('certificates_revoked').on('certificates').column('revoked_at').execute();
      await db.schema.createIndex('certificates_owner_expiry').on('certificates').columns(['owner_id', 'not_after']).execute();
      await db.schema
        .createTable('profiles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('profiles_owner').on('profiles').columns(['owner_id', 'kind']).execute();
      await db.schema
        .createTable('outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('html', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('authorities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('cert_pem', 'text', (c) => c.notNull())
        .addColumn('key_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

/** ACME (RFC 8555): EAB keys, accounts, orders, authorizations, challenges and rate-limit counters. */
function acme(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('acme_eab_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('instance_id', 'text', (c) => c.references('instances.id'))
        .addColumn('hmac_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('acme_eab_keys_owner').on('acme_eab_keys').column('owner_id').execute();
      await db.schema
        .createTable('acme_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.references('users.id'))
        .addColumn('eab_kid', 'text')
        .addColumn('jwk', 'text', (c) => c.notNull())
        .addColumn('thumbprint', 'text', (c) => c.notNull().unique())
        .addColumn('contact', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('acme_orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('acme_accounts.id'))
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
        .addColumn('identifiers', 'text', (c) => c.notNull())
        .addColumn('authorization_ids', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('certificate_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('acme_orders_account').on('acme_orders').columns(['account_id', 'created_at']).execute();
      await db.schema
        .createTable('acme_authorizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('acme_accounts.id'))
        .addColumn('identifier', 'text', (c) => c.notNull())
        .addColumn('wildcard', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('acme_authorizations_reuse').on('acme_authorizations').columns(['account_id', 'identifier', 'status']).execute();
      await db.schema
        .createTable('acme_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('authorization_id', 'text', (c) => c.notNull().references('acme_authorizations.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('validated_at', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('acme_challenges_authorization').on('acme_challenges').column('authorization_id').execute();
      await db.schema
        .createTable('acme_rate_events')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('acme_rate_events_bucket').on('acme_rate_events').columns(['bucket', 'at']).execute();
    },
  };
}

/**
 * Read paths at scale. Lists and counts only ever look at live instances
 * (`combined_into IS NULL`), so their indexes are partial and end in the sort
 * key `(created_at, id)`: a page is a walk of the index, never a sort.
 * Two tables are kept by triggers in the same transaction as the row change,
 * whoever writes it (the RA, ACME, a bulk import):
 * - `instance_counts`: live instances per (owner, status), and per status for
 *   all owners under owner '*'. On PostgreSQL each change lands on one of 8
 *   random shards so concurrent transactions rarely wait on the same counter
 *   row; readers sum the shards. SQLite has one writer and uses shard 0.
 * - `instance_terms`: every bound name and each of its parent names down to
 *   the registrable level ("www.shop.example.com", "shop.example.com",
 *   "example.com"), so a domain search is a prefix range on one index.
 * `certificates_expiry` lets the overview's "expiring soon" walk certificates
 * by `not_after`; `instances_combined_into` finds the parts of a combined instance.
 */
function readPaths(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const run = (statement: string) => sql.raw(statement).execute(db);
      await run('DROP INDEX instances_status');
      await run('DROP INDEX instances_owner_status');
      await run('CREATE INDEX instances_live_status ON instances (status, created_at, id) WHERE combined_into IS NULL');
      await run('CREATE INDEX instances_live_owner_status ON instances (owner_id, status, created_at, id) WHERE combined_into IS NULL');
      await run('CREATE INDEX instances_live_created ON instances (created_at, id) WHERE combined_into IS NULL');
      await run('CREATE INDEX instances_live_owner_created ON instances (owner_id, created_at, id) WHERE combined_into IS NULL');
      await run('CREATE INDEX instances_combined_into ON instances (combined_into) WHERE combined_into IS NOT NULL');
      await run('CREATE INDEX certificates_expiry ON certificates (not_after)');
      for (const statement of dialect === 'postgres' ? postgresReadPaths() : sqliteReadPaths()) await run(statement);
      await run(`INSERT INTO instance_counts (owner_id, status, shard, n)
        SELECT owner_id, status, 0, count(*) FROM instances WHERE combined_into IS NULL GROUP BY owner_id, status
        UNION ALL SELECT '*', status, 0, count(*) FROM instances WHERE combined_into IS NULL GROUP BY status`);
    },
  };
}

/** SQLite: triggers cannot use CTEs, so names are split with json_each over a JSON array built from the text. */
function sqliteReadPaths(): string[] {
  const names = (text: string) => `json_each('["' || replace(${text}, ' ', '","') || '"]')`;
  const labels = (name: string) => `json_each('["' || replace(${name}, '.', '","') || '"]')`;
  // Each bound name from label k on, for k = 0 and every k that leaves at least two labels; with `id`, a second column naming the instance.
  const terms = (text: string, id: string | null, from = '') => `SELECT substr(n.value, 1 + (SELECT coalesce(sum(length(p.value) + 1), 0) FROM ${labels('n.value')} p WHERE p.key < l.key))${id ? `, ${id}` : ''}
      FROM ${from}${names(text)} n, ${labels('n.value')} l
      WHERE ${text} <> '' AND n.value <> '' AND (l.key = 0 OR l.key < json_array_length('["' || replace(n.value, '.', '","') || '"]') - 1)`;
  const count = (owner: string, row: 'OLD' | 'NEW', delta: number) =>
    `INSERT INTO instance_counts (owner_id, status, shard, n) SELECT ${owner}, ${row}.status, 0, ${delta} WHERE ${row}.combined_into IS NULL
       ON CONFLICT (owner_id, status, shard) DO UPDATE SET n = n + excluded.n;`;
  return [
    'CREATE TABLE instance_counts (owner_id text NOT NULL, status text NOT NULL, shard integer NOT NULL, n integer NOT NULL, PRIMARY KEY (owner_id, status, shard)) WITHOUT ROWID',
    'CREATE TABLE instance_terms (term text NOT NULL, instance_id text NOT NULL, PRIMARY KEY (term, instance_id)) WITHOUT ROWID',
    `CREATE TRIGGER instance_counts_insert AFTER INSERT ON instances BEGIN ${count("'*'", 'NEW', 1)} ${count('NEW.owner_id', 'NEW', 1)} END`,
    `CREATE TRIGGER instance_counts_update AFTER UPDATE OF owner_id, status, combined_into ON instances
       WHEN OLD.owner_id IS NOT NEW.owner_id OR OLD.status IS NOT NEW.status OR OLD.combined_into IS NOT NEW.combined_into
       BEGIN ${count("'*'", 'OLD', -1)} ${count('OLD.owner_id', 'OLD', -1)} ${count("'*'", 'NEW', 1)} ${count('NEW.owner_id', 'NEW', 1)} END`,
    `CREATE TRIGGER instance_counts_delete AFTER DELETE ON instances BEGIN ${count("'*'", 'OLD', -1)} ${count('OLD.owner_id', 'OLD', -1)} END`,
    `CREATE TRIGGER instance_terms_insert AFTER INSERT ON instances WHEN NEW.domains_text <> '' BEGIN
       INSERT OR IGNORE INTO instance_terms (term, instance_id) ${terms('NEW.domains_text', 'NEW.id')}; END`,
    `CREATE TRIGGER instance_terms_update AFTER UPDATE OF domains_text ON instances WHEN OLD.domains_text IS NOT NEW.domains_text BEGIN
       DELETE FROM instance_terms WHERE instance_id = OLD.id AND term IN (${terms('OLD.domains_text', null)});
       INSERT OR IGNORE INTO instance_terms (term, instance_id) ${terms('NEW.domains_text', 'NEW.id')}; END`,
    `CREATE TRIGGER instance_terms_delete AFTER DELETE ON instances WHEN OLD.domains_text <> '' BEGIN
       DELETE FROM instance_terms WHERE instance_id = OLD.id AND term IN (${terms('OLD.domains_text', null)}); END`,
    `INSERT OR IGNORE INTO instance_terms (term, instance_id) ${terms('i.domains_text', 'i.id', 'instances i, ')}`,
  ];
}

function postgresReadPaths(): string[] {
  return [
    'CREATE TABLE instance_counts (owner_id text NOT NULL, status text NOT NULL, shard smallint NOT NULL, n bigint NOT NULL, PRIMARY KEY (owner_id, status, shard))',
    // COLLATE "C": byte order, so a prefix is one range of the index whatever the database's locale.
    'CREATE TABLE instance_terms (term text COLLATE "C" NOT NULL, instance_id text NOT NULL, PRIMARY KEY (term, instance_id))',
    `CREATE FUNCTION certdesk_instance_terms(domains text) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
       SELECT DISTINCT array_to_string(n.labels[i:], '.')
       FROM (SELECT string_to_array(name, '.') AS labels FROM unnest(string_to_array(domains, ' ')) AS name WHERE name <> '') n,
            generate_series(1, greatest(1, cardinality(n.labels) - 1)) AS i
     $$`,
    `CREATE FUNCTION certdesk_index_instance_terms() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP <> 'INSERT' THEN
         DELETE FROM instance_terms WHERE instance_id = OLD.id AND term IN (SELECT certdesk_instance_terms(OLD.domains_text));
       END IF;
       IF TG_OP <> 'DELETE' THEN
         INSERT INTO instance_terms (term, instance_id) SELECT t, NEW.id FROM certdesk_instance_terms(NEW.domains_text) t ON CONFLICT DO NOTHING;
       END IF;
       RETURN NULL;
     END $$`,
    `CREATE TRIGGER instance_terms_insert AFTER INSERT OR DELETE ON instances FOR EACH ROW EXECUTE FUNCTION certdesk_index_instance_terms()`,
    `CREATE TRIGGER instance_terms_update AFTER UPDATE OF domains_text ON instances FOR EACH ROW
       WHEN (OLD.domains_text IS DISTINCT FROM NEW.domains_text) EXECUTE FUNCTION certdesk_index_instance_terms()`,
    // Deltas are summed per key and applied in key order, so two transactions lock counter rows in the same order.
    `CREATE FUNCTION certdesk_count_instances() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       v_shard smallint := floor(random() * 8)::smallint;
       v_owner text[] := '{}';
       v_status text[] := '{}';
       v_delta int[] := '{}';
     BEGIN
       IF TG_OP <> 'INSERT' THEN
         IF OLD.combined_into IS NULL THEN
           v_owner := v_owner || ARRAY['*', OLD.owner_id]; v_status := v_status || ARRAY[OLD.status, OLD.status]; v_delta := v_delta || ARRAY[-1, -1];
         END IF;
       END IF;
       IF TG_OP <> 'DELETE' THEN
         IF NEW.combined_into IS NULL THEN
           v_owner := v_owner || ARRAY['*', NEW.owner_id]; v_status := v_status || ARRAY[NEW.status, NEW.status]; v_delta := v_delta || ARRAY[1, 1];
         END IF;
       END IF;
       INSERT INTO instance_counts AS c (owner_id, status, shard, n)
         SELECT d.owner_id, d.status, v_shard, sum(d.delta) FROM unnest(v_owner, v_status, v_delta) AS d(owner_id, status, delta)
         GROUP BY d.owner_id, d.status HAVING sum(d.delta) <> 0 ORDER BY d.owner_id, d.status
         ON CONFLICT (owner_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
       RETURN NULL;
     END $$`,
    `CREATE TRIGGER instance_counts AFTER INSERT OR UPDATE OF owner_id, status, combined_into OR DELETE ON instances FOR EACH ROW EXECUTE FUNCTION certdesk_count_instances()`,
    `INSERT INTO instance_terms (term, instance_id) SELECT t, i.id FROM instances i, certdesk_instance_terms(i.domains_text) t ON CONFLICT DO NOTHING`,
  ];
}

/**
 * ACME Renewal Information (RFC 9773 §5): an order may name the certificate
 * it replaces. `replaces` keeps the certID the client sent (echoed in the
 * order); `replaces_certificate_id` the certificate it named, so a second
 * order for the same certificate is found whatever spelling of the serial
 * its certID used.
 */
function acmeReplaces(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('acme_orders').addColumn('replaces', 'text').execute();
      await db.schema.alterTable('acme_orders').addColumn('replaces_certificate_id', 'text').execute();
      await db.schema.createIndex('acme_orders_replaces').on('acme_orders').column('replaces_certificate_id').execute();
    },
  };
}

/**
 * Indexes for the ACME paths that otherwise read a whole account's history:
 * - `instances_dv_unclaimed`: newOrder claims the smallest, oldest unclaimed
 *   DV instance of a subscriber that fits the order; this index lists exactly
 *   those, by owner, size (domain_count) and age, so the claim reads a handful
 *   of entries however many instances the subscriber holds.
 * - `acme_orders_open`: the account's pending and ready orders, the only ones
 *   a challenge result is reported to.
 * - `acme_orders_certificate`: the order that issued a certificate, for its download.
 */
function acmeOrderIndexes(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const run = (statement: string) => sql.raw(statement).execute(db);
      await run("CREATE INDEX instances_dv_unclaimed ON instances (owner_id, domain_count, created_at) WHERE product = 'dv' AND status = 'pending_application' AND combined_into IS NULL");
      await run("CREATE INDEX acme_orders_open ON acme_orders (account_id) WHERE status IN ('pending', 'ready')");
      await run('CREATE INDEX acme_orders_certificate ON acme_orders (certificate_id) WHERE certificate_id IS NOT NULL');
    },
  };
}

/**
 * Cheaper read-path triggers on PostgreSQL (SQLite's, with their WHEN
 * clauses, stay). Each DV certificate fires them five times, and as written
 * in 0003 they took more of PostgreSQL's time than any statement the RA sends:
 * - The search terms were expanded by a set-returning SQL function, which
 *   PostgreSQL plans again on every call; a PL/pgSQL function that returns
 *   the terms as an array keeps its plan. The triggers no longer fire for an
 *   empty `domains_text` (every purchase starts with one), and an update
 *   deletes old terms only when there were any.
 * - The counters take the two common changes, a purchase and a status change
 *   of a live instance under the same owner, as one upsert of fixed rows; any
 *   other change (a new owner, combination, deletion) nets its deltas first,
 *   as before. Every path upserts in key order, so two transactions take the
 *   counter rows' locks in the same order. An update that leaves owner,
 *   status and combination as they were no longer fires.
 */
function lighterReadPathTriggers(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      for (const statement of [
        `CREATE FUNCTION certdesk_instance_term_list(domains text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
         DECLARE
           terms text[] := '{}';
           name text;
           labels text[];
         BEGIN
           FOREACH name IN ARRAY string_to_array(domains, ' ') LOOP
             CONTINUE WHEN name = '';
             labels := string_to_array(name, '.');
             FOR i IN 1 .. greatest(1, cardinality(labels) - 1) LOOP
               terms := terms || array_to_string(labels[i:], '.');
             END LOOP;
           END LOOP;
           RETURN terms;
         END $$`,
        `CREATE OR REPLACE FUNCTION certdesk_index_instance_terms() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_OP <> 'INSERT' AND OLD.domains_text <> '' THEN
             DELETE FROM instance_terms WHERE instance_id = OLD.id AND term = ANY (certdesk_instance_term_list(OLD.domains_text));
           END IF;
           IF TG_OP <> 'DELETE' AND NEW.domains_text <> '' THEN
             INSERT INTO instance_terms (term, instance_id) SELECT t, NEW.id FROM unnest(certdesk_instance_term_list(NEW.domains_text)) AS t ON CONFLICT DO NOTHING;
           END IF;
           RETURN NULL;
         END $$`,
        'DROP TRIGGER instance_terms_insert ON instances',
        'DROP FUNCTION certdesk_instance_terms(text)',
        `CREATE TRIGGER instance_terms_insert AFTER INSERT ON instances FOR EACH ROW WHEN (NEW.domains_text <> '') EXECUTE FUNCTION certdesk_index_instance_terms()`,
        `CREATE TRIGGER instance_terms_delete AFTER DELETE ON instances FOR EACH ROW WHEN (OLD.domains_text <> '') EXECUTE FUNCTION certdesk_index_instance_terms()`,
        `CREATE OR REPLACE FUNCTION certdesk_count_instances() RETURNS trigger LANGUAGE plpgsql AS $$
         DECLARE
           v_shard smallint := floor(random() * 8)::smallint;
           v_old int := CASE WHEN TG_OP <> 'INSERT' AND OLD.combined_into IS NULL THEN -1 ELSE 0 END;
           v_new int := CASE WHEN TG_OP <> 'DELETE' AND NEW.combined_into IS NULL THEN 1 ELSE 0 END;
         BEGIN
           IF TG_OP = 'INSERT' THEN
             IF v_new = 1 THEN
               INSERT INTO instance_counts AS c (owner_id, status, shard, n)
                 SELECT d.owner_id, NEW.status, v_shard, 1 FROM (VALUES ('*'), (NEW.owner_id)) AS d(owner_id) ORDER BY d.owner_id
                 ON CONFLICT (owner_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
             END IF;
           ELSIF TG_OP = 'UPDATE' AND v_old = -1 AND v_new = 1 AND OLD.owner_id = NEW.owner_id AND OLD.status <> NEW.status THEN
             INSERT INTO instance_counts AS c (owner_id, status, shard, n)
               SELECT d.owner_id, d.status, v_shard, d.delta
               FROM (VALUES ('*', OLD.status, -1), (OLD.owner_id, OLD.status, -1), ('*', NEW.status, 1), (NEW.owner_id, NEW.status, 1)) AS d(owner_id, status, delta)
               ORDER BY d.owner_id, d.status
               ON CONFLICT (owner_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
           ELSE
             -- OLD is NULL on INSERT and NEW on DELETE; those rows carry a zero delta and drop out.
             INSERT INTO instance_counts AS c (owner_id, status, shard, n)
               SELECT d.owner_id, d.status, v_shard, sum(d.delta)
               FROM (VALUES ('*', OLD.status, v_old), (OLD.owner_id, OLD.status, v_old), ('*', NEW.status, v_new), (NEW.owner_id, NEW.status, v_new)) AS d(owner_id, status, delta)
               WHERE d.delta <> 0
               GROUP BY d.owner_id, d.status HAVING sum(d.delta) <> 0 ORDER BY d.owner_id, d.status
               ON CONFLICT (owner_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
           END IF;
           RETURN NULL;
         END $$`,
        'DROP TRIGGER instance_counts ON instances',
        'CREATE TRIGGER instance_counts AFTER INSERT OR DELETE ON instances FOR EACH ROW EXECUTE FUNCTION certdesk_count_instances()',
        `CREATE TRIGGER instance_counts_update AFTER UPDATE OF owner_id, status, combined_into ON instances FOR EACH ROW
           WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.status IS DISTINCT FROM NEW.status OR OLD.combined_into IS DISTINCT FROM NEW.combined_into)
           EXECUTE FUNCTION certdesk_count_instances()`,
      ]) {
        await sql.raw(statement).execute(db);
      }
    },
  };
}

/**
 * A guard for PostgreSQL's pipelined transactions (pg_named_statements.ts):
 * wrapped around a guard statement's count of changed rows, it raises
 * SQLSTATE CDG01 unless that count is one, which aborts the transaction, so
 * the rest of the batch can be sent with the guard instead of after its answer.
 */
function pgGuard(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      await sql
        .raw(
          `CREATE FUNCTION certdesk_guard_one_row(changed bigint) RETURNS bigint LANGUAGE plpgsql AS $$
           BEGIN
             IF changed <> 1 THEN
               RAISE EXCEPTION 'a guarded statement changed % rows, not one', changed USING ERRCODE = 'CDG01';
             END IF;
             RETURN changed;
           END $$`,
        )
        .execute(db);
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_initial': initial(dialect), '0002_acme': acme(), '0003_read_paths': readPaths(dialect), '0004_acme_replaces': acmeReplaces(), '0005_acme_order_indexes': acmeOrderIndexes(), '0006_lighter_read_path_triggers': lighterReadPathTriggers(dialect), '0007_pg_guard': pgGuard(dialect) };
    },
  };
}
