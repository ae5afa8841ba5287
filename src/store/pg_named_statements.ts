/**
 * PostgreSQL parses and plans every unnamed statement it receives, and that
 * work, on the backends that share the machine's cores, was most of what a
 * certificate cost on PostgreSQL. Kysely compiles the same SQL text for the
 * same query shape, so each connection prepares a statement once under a name
 * derived from its text and afterwards only binds and executes it.
 *
 * Only data statements are named (never DDL, whose effects would invalidate a
 * prepared `select *`), and each connection keeps at most
 * `maxPerConnection` of them, so query shapes that vary with their
 * input (IN lists) cannot grow a backend's memory without bound; past that,
 * new shapes run unnamed as before.
 */
import { createHash } from 'node:crypto';
import type { CompiledQuery, PostgresPool, PostgresPoolClient, QueryResult } from 'kysely';
import type pg from 'pg';
import { databaseUnavailable } from './database_unavailable.js';
import { COMMIT_WITHOUT_FLUSH, PgFlushes } from './pg_flushes.js';
import { PgLanes } from './pg_lanes.js';
import type { Pipeline, RowsOf, TransactionOptions } from './pipeline.js';

const DEFAULT_MAX_NAMED_PER_CONNECTION = 400;
/** The SQLSTATE that `certdesk_guard_one_row` (migration 0007) raises when a guard did not change exactly one row. */
const GUARD_REFUSED = 'CDG01';
/** Shared connections (pg_lanes.ts); in DV runs at concurrency 64, two and four gave 5–10 % less than three. */
const LANES = 3;
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;

/** The statement name for a SQL text, or null for a text that runs unnamed. */
export function statementName(sql: string): string | null {
  if (!NAMEABLE.test(sql)) return null;
  return `cd_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
}

/** A pool whose statements are named, and that sends a request's statements together (see pipeline.ts). */
export interface NamedStatementPool extends PostgresPool {
  pipeline: Pipeline;
  /** When the pipeline's transactions are on disk (pg_flushes.ts). */
  durability: PgFlushes;
}

type QueryConfigFor = (client: pg.PoolClient, sql: string, parameters: ReadonlyArray<unknown>) => pg.QueryConfig;

/** Checks out a connection; one that cannot be made is DATABASE_UNAVAILABLE (503), with the cause handed to `onUnavailable` for the log. */
async function checkOut(pool: pg.Pool, onUnavailable: (error: unknown) => void): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    onUnavailable(error);
    throw databaseUnavailable();
  }
}

/**
 * `pool` must be created with `pipeline: true`, so that statements sent
 * together are not queued one round trip apart. `onUnavailable` hears why a
 * connection could not be made, or why an idle one was dropped.
 */
export function namedStatementPool(pool: pg.Pool, options: { maxPerConnection?: number; onUnavailable?: (error: unknown) => void; /** Tests: a flush that fails. */ flushSql?: string } = {}): NamedStatementPool {
  const onUnavailable = options.onUnavailable ?? (() => undefined);
  // A pooled connection the server closes while idle is reported here and dropped; unheard, the error would end the process.
  pool.on('error', onUnavailable);
  // One closed while checked out fails its pending statements (answered 503, logged there); this listener keeps its error event from ending the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const maxPerConnection = options.maxPerConnection ?? DEFAULT_MAX_NAMED_PER_CONNECTION;
  const flushes = new PgFlushes(options.flushSql);
  const lanes = new PgLanes(() => checkOut(pool, onUnavailable), LANES, (client) => flushes.flush(client));
  const names = new Map<string, string | null>();
  const nameOf = (sql: string): string | null => {
    let name = names.get(sql);
    if (name === undefined) {
      name = statementName(sql);
      if (names.size >= maxPerConnection * 4) names.clear();
      names.set(sql, name);
    }
    return name;
  };
  // The names each pooled connection has prepared; a connection outlives its checkouts.
  const prepared = new WeakMap<pg.PoolClient, Set<string>>();
  const configFor: QueryConfigFor = (client, sql, parameters) => {
    let own = prepared.get(client);
    if (!own) prepared.set(client, (own = new Set()));
    const values = [...parameters];
    const name = values.length > 0 ? nameOf(sql) : null;
    if (name && (own.has(name) || own.size < maxPerConnection)) {
      own.add(name);
      return { name, text: sql, values };
    }
    return { text: sql, values };
  };
  const route: LaneRoute = { lanes, configFor, flushes };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await checkOut(pool, onUnavailable);
      const query = (sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>): unknown => {
        if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as pg.Submittable);
        return client.query(configFor(client, sqlOrCursor, parameters ?? []));
      };
      return { query: query as PostgresPoolClient['query'], release: () => client.release() };
    },
    end: async () => {
      // The last turns' flushes go out before the connections close; a failure reaches whoever waits for it (whenDurable).
      await flushes.whenDurable().catch(() => undefined);
      await lanes.close();
      await pool.end();
    },
    durability: flushes,
    pipeline: {
      transaction: async (queries, options = {}) => {
        const [first, ...rest] = queries;
        const guardFirst = first ? options.guardFirst : undefined;
        try {
          const results = (await sendOnLane(route, first && guardFirst ? [guarded(first), ...rest] : queries, true, options)).map(kyselyResult);
          // The wrapped guard answers with its count: the one row it changed.
          if (guardFirst) results[0] = { rows: [], numAffectedRows: 1n };
          return results;
        } catch (error) {
          if (guardFirst && (error as { code?: unknown }).code === GUARD_REFUSED) throw guardFirst();
          throw error;
        }
      },
      reads: async <Queries extends readonly CompiledQuery<unknown>[]>(queries: readonly [...Queries]) =>
        (await sendOnLane(route, queries, false)).map((result) => result.rows) as RowsOf<Queries>,
    },
  };
}

/**
 * The guard statement wrapped so that PostgreSQL itself refuses the
 * transaction when it does not change exactly one row: the rest of the batch
 * then goes out with it, in one write on a shared lane, instead of waiting a
 * round trip for the guard's answer on a connection of its own.
 */
function guarded(query: CompiledQuery<unknown>): CompiledQuery<unknown> {
  return { ...query, sql: `with guarded as (${query.sql} returning 1) select certdesk_guard_one_row(count(*)) from guarded` };
}

/** How a lane's transaction begins: its commit is made durable by the flush that ends the turn (pg_flushes.ts), or by itself. */
const BEGIN_GROUPED = ['BEGIN', COMMIT_WITHOUT_FLUSH];
const BEGIN_ALONE = ['BEGIN'];

/** What a batch needs to go out on a lane. */
interface LaneRoute {
  lanes: PgLanes;
  configFor: QueryConfigFor;
  flushes: PgFlushes;
}

/** Submits, in this order, `before` (simple commands), the statements, `after`, then `reads`; one promise each. */
function submit(
  client: pg.PoolClient,
  configFor: QueryConfigFor,
  before: string[],
  statements: readonly CompiledQuery<unknown>[],
  after: string[],
  reads: readonly CompiledQuery<unknown>[] = [],
): Promise<pg.QueryResult>[] {
  const sent: Promise<pg.QueryResult>[] = [];
  for (const text of before) sent.push(client.query(text));
  for (const query of statements) sent.push(client.query(configFor(client, query.sql, query.parameters)));
  for (const text of after) sent.push(client.query(text));
  for (const query of reads) sent.push(client.query(configFor(client, query.sql, query.parameters)));
  return sent;
}

/** Every answer, or the first failure among them once all have settled. */
async function answers(sent: Promise<pg.QueryResult>[]): Promise<pg.QueryResult[]> {
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<pg.QueryResult>).value);
}

/** Hands `readBack` the rows of the answers from `from` on (the reads after the COMMIT). */
function fillReadBack(readBack: TransactionOptions['readBack'], results: pg.QueryResult[], from: number): void {
  readBack?.fill(results.slice(from).map((result) => result.rows));
}

/**
 * Sends a whole batch (a transaction from BEGIN to COMMIT, with its
 * read-back, or independent reads) on this turn's lane. PostgreSQL answers in
 * order; after a failure inside the transaction it refuses the rest and
 * answers the COMMIT with ROLLBACK, so nothing of a failed transaction is
 * kept, and batches after it on the lane are not affected. A read-back's
 * reads follow the COMMIT, so they see what it committed.
 */
async function sendOnLane({ lanes, configFor, flushes }: LaneRoute, queries: readonly CompiledQuery<unknown>[], transaction: boolean, options: TransactionOptions = {}): Promise<pg.QueryResult[]> {
  const client = await lanes.take(transaction);
  const readBack = transaction ? options.readBack : undefined;
  const begin = flushes.grouped ? BEGIN_GROUPED : BEGIN_ALONE;
  let sent: Promise<pg.QueryResult>[];
  try {
    sent = transaction ? submit(client, configFor, begin, queries, ['COMMIT'], readBack?.pending) : submit(client, configFor, [], queries, []);
  } catch (error) {
    // Half a transaction may be out without its COMMIT; only closing the connection undoes it.
    lanes.discard(client, error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  const results = await answers(sent);
  if (!transaction) return results;
  // BEGIN, the statements, COMMIT, the read-back.
  fillReadBack(readBack, results, begin.length + queries.length + 1);
  return results.slice(begin.length, begin.length + queries.length);
}

/** The result as Kysely's PostgreSQL driver reports it. */
function kyselyResult(result: pg.QueryResult): QueryResult<unknown> {
  const changed = result.command === 'INSERT' || result.command === 'UPDATE' || result.command === 'DELETE' || result.command === 'MERGE';
  return { rows: result.rows ?? [], ...(changed ? { numAffectedRows: BigInt(result.rowCount ?? 0) } : {}) };
}
