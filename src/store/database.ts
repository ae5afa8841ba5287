/**
 * Opens the database (embedded SQLite by default, PostgreSQL by URL) and
 * brings its schema up to date. Everything above the store sees only Kysely.
 */
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { CertdeskError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Durability, GroupCommitSqlite } from './group_commit_sqlite.js';
import { migrationProvider } from './migrations.js';
import { namedStatementPool } from './pg_named_statements.js';
import type { Pipeline } from './pipeline.js';
import { sqlitePipeline } from './sqlite_pipeline.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface OpenedDatabase {
  db: Db;
  dialect: 'sqlite' | 'postgres';
  /** Await before acknowledging writes (see group_commit_sqlite.ts). */
  durability: Durability;
  /** Sends a step's statements together (see pipeline.ts). */
  pipeline: Pipeline;
  /** Commits what is pending, then closes; throws STORE_COMMIT_FAILED if that commit fails. */
  close(): Promise<void>;
}

/** `databaseUrl` is a postgres:// URL; without one, SQLite lives in `dataDir/certdesk.db`. */
export async function openDatabase(options: { dataDir: string; databaseUrl?: string; logger?: Pick<Logger, 'warn'> }): Promise<OpenedDatabase> {
  const opened = options.databaseUrl ? await openPostgres(options.databaseUrl, options.logger) : openSqlite(path.join(options.dataDir, 'certdesk.db'));
  await migrate(opened);
  return opened;
}

function openSqlite(file: string): OpenedDatabase {
  const sqlite = openSqliteFile(file);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Concurrent requests' writes share one COMMIT (and one fsync) per event-loop turn.
  const groupCommit = new GroupCommitSqlite(sqlite);
  const db = new Kysely<Database>({ dialect: groupCommit.dialect() });
  return { db, dialect: 'sqlite', durability: groupCommit, pipeline: sqlitePipeline(groupCommit), close: () => db.destroy() };
}

/** Opens the file in WAL mode; a file that is not a database, or that cannot be opened, is the operator's to fix. */
function openSqliteFile(file: string): SQLite.Database {
  let sqlite: SQLite.Database | null = null;
  try {
    sqlite = new SQLite(file);
    // WAL; the batcher fsyncs the log after each COMMIT, so every acknowledged transaction survives a power cut.
    sqlite.pragma('journal_mode = WAL');
    return sqlite;
  } catch (error) {
    sqlite?.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new CertdeskError('DATABASE_UNUSABLE', `certdesk cannot open its database ${file} (${reason}); restore the file from a backup, or give --data the folder the service runs with.`, { status: 503 });
  }
}

async function openPostgres(url: string, logger?: Pick<Logger, 'warn'>): Promise<OpenedDatabase> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new CertdeskError('DATABASE_URL_INVALID', `--database must be a postgres:// URL, got "${url}".`);
  }
  // Loaded only here: the embedded default never needs the driver, and start time counts.
  const { default: pg } = await import('pg');
  // Pipeline mode: statements a request sends together are not held back one round trip each.
  const pool = new pg.Pool({ connectionString: url, max: 10, pipeline: true } as ConstructorParameters<typeof pg.Pool>[0]);
  const named = namedStatementPool(pool, {
    onUnavailable: (error) => logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'PostgreSQL connection lost or refused'),
  });
  try {
    await named.durability.probe(pool, (error) =>
      logger?.warn({ err: error.message }, 'PostgreSQL refuses pg_logical_emit_message to this role, so every COMMIT waits for the disk by itself (slower); grant EXECUTE on it to share one flush per turn'),
    );
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw postgresUnreachable(url, error);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: named }) });
  return { db, dialect: 'postgres', durability: named.durability, pipeline: named.pipeline, close: () => db.destroy() };
}

/** The first query at start failed: wrong URL, server down, credentials or database refused. The password is not repeated. */
function postgresUnreachable(url: string, error: unknown): CertdeskError {
  let where = 'the --database URL';
  try {
    const parsed = new URL(url);
    where = `${parsed.host}${parsed.pathname}${parsed.username ? ` as ${decodeURIComponent(parsed.username)}` : ''}`;
  } catch {
    // An unparsable URL is named generically; pg's own message says what is wrong with it.
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new CertdeskError(
    'DATABASE_UNREACHABLE',
    `certdesk could not use PostgreSQL at ${where} (${reason}); check --database (host, port, user, password, database) and that PostgreSQL is running and accepts connections from this machine.`,
    { status: 503 },
  );
}

async function migrate(opened: OpenedDatabase): Promise<void> {
  const migrator = new Migrator({ db: opened.db, provider: migrationProvider(opened.dialect) });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}
