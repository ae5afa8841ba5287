/**
 * Group commit for embedded SQLite: a Kysely dialect over one better-sqlite3
 * connection that runs every write inside one open batch transaction and
 * commits that batch at the end of the event-loop turn, a few milliseconds
 * later under load (see #openBatch), or when it grows large, so
 * concurrent requests share one durable COMMIT instead of paying one each.
 *
 * On a WAL database file the batcher makes commits durable itself: it sets
 * `synchronous=NORMAL` (the COMMIT writes the log without waiting for the
 * disk) and then fsyncs the log on the thread pool (wal_sync.ts) before the
 * batch counts as committed. Every acknowledged write is on disk, as under
 * `synchronous=FULL`, but the event loop serves other requests during the
 * fsync instead of blocking in it.
 *
 * - A write outside a Kysely transaction opens the batch (BEGIN IMMEDIATE) if
 *   none is open; a read runs inside the open batch (same connection, so it
 *   sees the batch's writes) or, with none open, on its own.
 * - A Kysely transaction is a SAVEPOINT inside the batch: its commit releases
 *   the savepoint, its rollback undoes only that savepoint's writes.
 * - Nothing is durable until the batch's COMMIT and the fsync after it. Callers that acknowledge work
 *   (an HTTP response, a CLI line, an SMTP mail) take a `mark()` before and
 *   await `whenDurable(mark)` before acknowledging; it waits for every batch
 *   committed so far to reach the disk (a reader may have seen any of them)
 *   and rejects if a batch since the mark failed to commit or to reach the
 *   disk, so nothing lost is ever claimed.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { CertdeskError } from '../errors.js';
import { rowFactory, type RowFactory } from './row_factory.js';
import { type LogSync, WalSync } from './wal_sync.js';

/** When callers may acknowledge what they wrote. */
export interface Durability {
  /** A point in the stream of writes; `whenDurable(mark)` covers everything written or read after it. */
  mark(): number;
  /**
   * Resolves once everything written so far is committed; throws STORE_COMMIT_FAILED if a commit since `since` failed.
   * Never await it inside a transaction: the commit waits for that transaction to end.
   */
  whenDurable(since?: number): Promise<void>;
}

export interface GroupCommitStats {
  /** Batches committed (each one fsync of the WAL). */
  commits: number;
  /** Batches whose COMMIT failed, or that SQLite rolled back on an error. */
  failedBatches: number;
  /** Statements that changed the database. */
  writes: number;
  /** fsyncs of the write-ahead log done by the batcher (0 for a database in memory). */
  logSyncs: number;
}

interface Batch {
  seq: number;
  writes: number;
  committed: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

const TRANSACTION_SAVEPOINT = 'certdesk_trx';
/** A batch this large commits as soon as the connection is free, without waiting for the turn to end. */
const DEFAULT_MAX_BATCH_WRITES = 2000;
/** The longest a batch waits for company before its COMMIT, in milliseconds. */
const MAX_COMMIT_DELAY_MS = 4;
/** Prepared statements kept for reuse; Kysely compiles the same SQL text for the same query shape. */
const STATEMENT_CACHE_SIZE = 500;

const reasonOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

function commitFailed(cause: unknown): CertdeskError {
  return new CertdeskError('STORE_COMMIT_FAILED', `certdesk could not save the change to its database (${reasonOf(cause)}); nothing was saved, try again.`, { status: 503 });
}

/** The COMMIT ran, so later reads may show the change, but the disk did not confirm it: it may not survive a crash. */
function syncFailed(cause: unknown): CertdeskError {
  return new CertdeskError(
    'STORE_COMMIT_FAILED',
    `certdesk saved the change but the disk did not confirm it (${reasonOf(cause)}), so it may be lost if the server stops; check the disk, then check whether the change is there before trying again.`,
    { status: 503 },
  );
}

/** A cached statement; `toRow` is set for statements that return rows. */
interface PreparedStatement {
  stmt: BetterSqlite3.Statement;
  toRow: RowFactory | null;
}

/** FIFO lock over the one connection. */
class ConnectionLock {
  #held = false;
  #waiters: (() => void)[] = [];

  async acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }
}

export class GroupCommitSqlite implements Durability {
  readonly #sqlite: BetterSqlite3.Database;
  readonly #maxBatchWrites: number;
  readonly #lock = new ConnectionLock();
  readonly #statements = new Map<string, PreparedStatement>();
  readonly #walSync: LogSync | null;
  #batch: Batch | null = null;
  /** Batches not yet durable or failed, oldest first: the open one and those whose log is being synced. */
  #unsettled: Batch[] = [];
  /** Settles once the last requested fsync of the log has; never rejects. */
  #lastSync: Promise<void> = Promise.resolve();
  #nextSeq = 1;
  #lastFailedSeq = 0;
  #lastFailure: CertdeskError | null = null;
  #stats: Omit<GroupCommitStats, 'logSyncs'> = { commits: 0, failedBatches: 0, writes: 0 };
  #closed = false;
  /** When the last COMMIT returned and how long it blocked, in performance.now() milliseconds. */
  #lastCommitEnd = 0;
  #lastCommitMs = 0;

  /** `logSync` replaces the fsync of the log file (tests: a slow or failing disk). */
  constructor(sqlite: BetterSqlite3.Database, options: { maxBatchWrites?: number; logSync?: LogSync } = {}) {
    this.#sqlite = sqlite;
    this.#maxBatchWrites = options.maxBatchWrites ?? DEFAULT_MAX_BATCH_WRITES;
    const wal = !sqlite.memory && sqlite.pragma('journal_mode', { simple: true }) === 'wal';
    this.#walSync = wal ? (options.logSync ?? new WalSync(`${sqlite.name}-wal`)) : null;
    // Safe only because every COMMIT is followed by the batcher's own fsync of the log.
    if (wal) sqlite.pragma('synchronous = NORMAL');
  }

  dialect(): Dialect {
    return {
      createDriver: () => new GroupCommitDriver(this),
      createQueryCompiler: (): QueryCompiler => new SqliteQueryCompiler(),
      createAdapter: (): DialectAdapter => new SqliteAdapter(),
      createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => new SqliteIntrospector(db),
    };
  }

  stats(): GroupCommitStats {
    return { ...this.#stats, logSyncs: this.#walSync?.completed ?? 0 };
  }

  mark(): number {
    return this.#unsettled[0]?.seq ?? this.#nextSeq;
  }

  async whenDurable(since: number = this.mark()): Promise<void> {
    const open = this.#batch;
    if (open) await open.committed.catch(() => undefined);
    // Syncs finish in order, and each covers every COMMIT before it.
    await this.#lastSync;
    if (this.#lastFailedSeq >= since) throw this.#lastFailure ?? commitFailed('an earlier commit failed');
  }

  /** Commits what is pending and closes the connection; throws STORE_COMMIT_FAILED if that last commit fails. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#lock.acquire();
    let failure: CertdeskError | null;
    try {
      const pending = [...this.#unsettled];
      failure = this.#commitNow();
      for (const batch of pending) failure ??= await batch.committed.then(() => null, (error: CertdeskError) => error);
      await this.#walSync?.close();
    } finally {
      this.#closed = true;
      this.#statements.clear();
      this.#sqlite.close();
      this.#lock.release();
    }
    if (failure) throw failure;
  }

  // --- used by the driver, always while holding the connection lock ---

  acquire(): Promise<void> {
    return this.#lock.acquire();
  }

  release(): void {
    if (this.#batch && this.#batch.writes >= this.#maxBatchWrites) this.#commitNow();
    this.#lock.release();
  }

  execute<R>(compiled: CompiledQuery): QueryResult<R> {
    const { stmt, toRow } = this.#prepare(compiled.sql);
    if (!stmt.readonly) this.#openBatch();
    try {
      if (toRow) {
        const rows = (stmt.all(compiled.parameters as unknown[]) as unknown[][]).map(toRow) as R[];
        if (!stmt.readonly) this.#countWrite();
        return { rows };
      }
      const { changes, lastInsertRowid } = stmt.run(compiled.parameters as unknown[]);
      this.#countWrite();
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    } catch (error) {
      this.#checkBatchSurvived(error);
      throw error;
    }
  }

  beginTransaction(): void {
    this.#openBatch();
    this.#sqlite.exec(`SAVEPOINT ${TRANSACTION_SAVEPOINT}`);
  }

  commitTransaction(): void {
    this.#sqlite.exec(`RELEASE ${TRANSACTION_SAVEPOINT}`);
  }

  rollbackTransaction(): void {
    // An I/O or disk-full error may already have rolled back the whole batch; then there is no savepoint to undo.
    if (!this.#sqlite.inTransaction) return;
    this.#sqlite.exec(`ROLLBACK TO ${TRANSACTION_SAVEPOINT}`);
    this.#sqlite.exec(`RELEASE ${TRANSACTION_SAVEPOINT}`);
  }

  execRaw(sql: string): void {
    try {
      this.#sqlite.exec(sql);
    } catch (error) {
      this.#checkBatchSurvived(error);
      throw error;
    }
  }

  #prepare(sql: string): PreparedStatement {
    let prepared = this.#statements.get(sql);
    if (!prepared) {
      const stmt = this.#sqlite.prepare(sql);
      // Readers return arrays, made into rows by a factory compiled for their columns (row_factory.ts).
      prepared = stmt.reader ? { stmt: stmt.raw(true), toRow: rowFactory(stmt.columns().map((column) => column.name)) } : { stmt, toRow: null };
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.clear();
      this.#statements.set(sql, prepared);
    }
    return prepared;
  }

  #countWrite(): void {
    this.#stats.writes += 1;
    if (this.#batch) this.#batch.writes += 1;
  }

  #openBatch(): void {
    if (this.#batch) return;
    this.#sqlite.exec('BEGIN IMMEDIATE');
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const committed = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Failures reach whoever awaits whenDurable; an unobserved one must not crash the process.
    committed.catch(() => undefined);
    this.#batch = { seq: this.#nextSeq++, writes: 0, committed, resolve, reject };
    this.#unsettled.push(this.#batch);
    // A COMMIT blocks the event loop while it writes the log (longer when it
    // checkpoints, or fsyncs a database without a log file). Right after one,
    // the next batch waits as long as that one blocked (at most
    // MAX_COMMIT_DELAY_MS), so under load at most about half the time goes to
    // COMMITs and more requests share each; an idle server commits at the end
    // of the turn.
    const wait = Math.min(MAX_COMMIT_DELAY_MS, this.#lastCommitEnd + this.#lastCommitMs - performance.now());
    if (wait < 1) setImmediate(() => void this.#commitWhenFree());
    else setTimeout(() => void this.#commitWhenFree(), wait);
  }

  async #commitWhenFree(): Promise<void> {
    if (this.#closed) return;
    await this.#lock.acquire();
    try {
      this.#commitNow();
    } finally {
      this.#lock.release();
    }
  }

  #commitNow(): CertdeskError | null {
    const batch = this.#batch;
    if (!batch) return null;
    this.#batch = null;
    const start = performance.now();
    try {
      this.#sqlite.exec('COMMIT');
    } catch (error) {
      if (this.#sqlite.inTransaction) this.#sqlite.exec('ROLLBACK');
      return this.#fail(batch, error);
    } finally {
      this.#lastCommitEnd = performance.now();
      this.#lastCommitMs = this.#lastCommitEnd - start;
    }
    this.#stats.commits += 1;
    if (!this.#walSync) this.#settle(batch);
    else this.#lastSync = this.#walSync.sync().then(() => this.#settle(batch), (error: unknown) => void this.#fail(batch, syncFailed(error)));
    return null;
  }

  #settle(batch: Batch): void {
    this.#unsettled = this.#unsettled.filter((b) => b !== batch);
    batch.resolve();
  }

  /** SQLite rolls back the whole transaction on some errors (disk full, I/O); then the batch is lost. */
  #checkBatchSurvived(error: unknown): void {
    const batch = this.#batch;
    if (batch && !this.#sqlite.inTransaction) {
      this.#batch = null;
      this.#fail(batch, error);
    }
  }

  #fail(batch: Batch, error: unknown): CertdeskError {
    this.#lastFailedSeq = Math.max(this.#lastFailedSeq, batch.seq);
    this.#stats.failedBatches += 1;
    const failure = error instanceof CertdeskError ? error : commitFailed(error);
    this.#lastFailure = failure;
    this.#unsettled = this.#unsettled.filter((b) => b !== batch);
    batch.reject(failure);
    return failure;
  }
}

/** Kysely's view of the batcher: one connection, transactions as savepoints in the open batch. */
class GroupCommitDriver implements Driver {
  readonly #batcher: GroupCommitSqlite;
  readonly #connection: DatabaseConnection;

  constructor(batcher: GroupCommitSqlite) {
    this.#batcher = batcher;
    this.#connection = {
      executeQuery: async <R>(compiled: CompiledQuery) => batcher.execute<R>(compiled),
      streamQuery: () => {
        throw new Error('streaming queries are not supported by the group-commit SQLite driver');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#batcher.acquire();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    this.#batcher.release();
  }

  async beginTransaction(): Promise<void> {
    this.#batcher.beginTransaction();
  }

  async commitTransaction(): Promise<void> {
    this.#batcher.commitTransaction();
  }

  async rollbackTransaction(): Promise<void> {
    this.#batcher.rollbackTransaction();
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#batcher.execRaw(`SAVEPOINT ${quoteName(name)}`);
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#batcher.execRaw(`ROLLBACK TO ${quoteName(name)}`);
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#batcher.execRaw(`RELEASE ${quoteName(name)}`);
  }

  async destroy(): Promise<void> {
    await this.#batcher.close();
  }
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
