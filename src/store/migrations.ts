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

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_initial': initial(dialect), '0002_acme': acme() };
    },
  };
}
