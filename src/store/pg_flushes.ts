/**
 * Group commit on PostgreSQL. A transaction sent on a lane (pg_lanes.ts)
 * commits with `synchronous_commit` off: its COMMIT returns without waiting
 * for the log to reach the disk. When the turn of the event loop ends, the
 * lane carries one more statement after that turn's transactions, in the same
 * socket write: a commit that does wait for the disk. PostgreSQL's log is one
 * sequence, so that flush makes every commit before it durable, the lane's and
 * any other connection's. A lane's transactions thus share one flush of the
 * log per turn instead of waiting for one each, which on two cores was most of
 * what the backends spent per certificate (BENCHMARKS.md).
 *
 * Nothing is acknowledged before its flush: replies, mail and the CLI wait for
 * `whenDurable`, exactly as over SQLite's group commit. Another connection may
 * read a commit before its flush; the flush was already sent with the commit,
 * so it is among those a reply waits for.
 */
import type pg from 'pg';
import { CertdeskError } from '../errors.js';
import type { Durability } from './group_commit_sqlite.js';

/**
 * A transactional logical-decoding message: it is a WAL record and takes a
 * transaction id, so its commit is flushed to disk under the session's own
 * `synchronous_commit` (and waits for synchronous standbys). A transaction
 * that only takes an id writes no record before its commit, and PostgreSQL
 * does not flush such a commit.
 */
export const FLUSH_SQL = "SELECT pg_logical_emit_message(true, 'certdesk', '')";

/** Sent after BEGIN on a lane: this transaction's commit leaves the flush to the end of the turn. */
export const COMMIT_WITHOUT_FLUSH = 'SET LOCAL synchronous_commit TO off';

/** PostgreSQL's answers when the role may not run the flush statement, or the server has no such function. */
const FLUSH_REFUSED = new Set(['42501', '42883']);

function flushFailed(cause: unknown): CertdeskError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CertdeskError(
    'STORE_COMMIT_FAILED',
    `certdesk saved the change but PostgreSQL did not confirm it reached the disk (${reason}), so it may be lost if the database stops; check the database, then check whether the change is there before trying again.`,
    { status: 503 },
  );
}

export class PgFlushes implements Durability {
  readonly #sql: string;
  #nextSeq = 1;
  /** Flushes sent and not yet answered, oldest first (a Map keeps its insertion order). */
  readonly #inFlight = new Map<number, Promise<void>>();
  #lastFailedSeq = 0;
  #lastFailure: CertdeskError | null = null;
  #completed = 0;
  #grouped = true;

  /** `sql` replaces the flush statement (tests: a flush that fails). */
  constructor(sql: string = FLUSH_SQL) {
    this.#sql = sql;
  }

  /** Whether lane transactions leave their flush to the end of the turn; otherwise each COMMIT waits for the disk itself. */
  get grouped(): boolean {
    return this.#grouped;
  }

  /**
   * Runs the flush statement once. A role that may not run it (a managed
   * server may withhold it) keeps every COMMIT synchronous instead, and
   * `onRefused` hears why; any other failure is thrown.
   */
  async probe(pool: pg.Pool, onRefused: (error: Error) => void): Promise<void> {
    try {
      await pool.query(this.#sql);
    } catch (error) {
      if (!FLUSH_REFUSED.has((error as { code?: string }).code ?? '')) throw error;
      this.#grouped = false;
      onRefused(error as Error);
    }
  }

  /** Flushes answered so far, failed or not. */
  get completed(): number {
    return this.#completed;
  }

  /** Queues the flush on `client`, after everything already queued on it. */
  flush(client: pg.PoolClient): void {
    if (!this.#grouped) return;
    const seq = this.#nextSeq++;
    let sent: Promise<unknown>;
    try {
      sent = client.query(this.#sql);
    } catch (error) {
      sent = Promise.reject(error);
    }
    const done = sent.then(
      () => undefined,
      (error: unknown) => {
        this.#lastFailedSeq = Math.max(this.#lastFailedSeq, seq);
        this.#lastFailure = flushFailed(error);
      },
    );
    this.#inFlight.set(
      seq,
      done.finally(() => {
        this.#completed += 1;
        this.#inFlight.delete(seq);
      }),
    );
  }

  mark(): number {
    for (const seq of this.#inFlight.keys()) return seq;
    return this.#nextSeq;
  }

  async whenDurable(since: number = this.mark()): Promise<void> {
    await Promise.all(this.#inFlight.values());
    if (this.#lastFailedSeq >= since) throw this.#lastFailure ?? flushFailed('an earlier flush failed');
  }
}
