/**
 * Several statements in one trip to the database. A request that knows its
 * statements up front (the reads behind an instance's detail, the writes of
 * one workflow step) hands them over together: on PostgreSQL they leave in one
 * socket write and come back in one pass, instead of one round trip each;
 * embedded SQLite runs them one after the other in one hold of its connection
 * (`sqlite_pipeline.ts`).
 */
import type { CompiledQuery, QueryResult } from 'kysely';

/** The rows of each query, in the order of the queries. */
export type RowsOf<Queries extends readonly CompiledQuery<unknown>[]> = { [K in keyof Queries]: Queries[K] extends CompiledQuery<infer Row> ? Row[] : never };

export interface TransactionOptions {
  /**
   * Makes the first statement a guard that must change exactly one row (such
   * as "the status is still the one read"; an INSERT, UPDATE or DELETE
   * without RETURNING). When it changes none, or more, the transaction is
   * rolled back and what `guardFirst` returns is thrown.
   */
  guardFirst?(): Error;
  /** Reads run once the transaction committed, on PostgreSQL in the same socket write as its COMMIT; their rows land in `readBack.rows`. */
  readBack?: ReadBack;
}

/**
 * What a step's reply reads once the step committed (an instance's detail).
 * A step that ends in a transaction hands it to that transaction, saving the
 * reply its own trip to PostgreSQL; `rows` stays undefined when the step
 * committed nothing, and the reply then reads by itself. A step may `hold`
 * the rows of a labelled read that it read under the instance's lock and its
 * transaction leaves as they are; the transaction then does not send it.
 */
export class ReadBack<Queries extends readonly CompiledQuery<unknown>[] = readonly CompiledQuery<unknown>[], Held extends string = never> {
  rows: RowsOf<Queries> | undefined;
  readonly #held = new Map<number, unknown[]>();
  constructor(
    readonly queries: readonly [...Queries],
    /** The position in `queries` of each read a step may hold. */
    private readonly labels: Readonly<Record<Held, number>> = {} as Record<Held, number>,
  ) {}

  /** The rows of the read labelled `label`, as the step's transaction leaves them. */
  hold(label: Held, rows: unknown[]): void {
    this.#held.set(this.labels[label], rows);
  }

  /** The reads the transaction still has to send, in order. */
  get pending(): CompiledQuery<unknown>[] {
    return this.queries.filter((_, at) => !this.#held.has(at));
  }

  /** Takes the rows of `pending`'s reads, run after the transaction committed. */
  fill(pendingRows: unknown[][]): void {
    let next = 0;
    this.rows = this.queries.map((_, at) => this.#held.get(at) ?? pendingRows[next++]) as RowsOf<Queries>;
  }

  /** The rows the transaction read back, or else all of them read now. */
  async read(pipeline: Pipeline): Promise<RowsOf<Queries>> {
    return this.rows ?? pipeline.reads<Queries>(this.queries);
  }
}

export interface Pipeline {
  /** Runs `queries` as one transaction: all of them or, if any fails, none (the first failure is thrown). */
  transaction(queries: readonly CompiledQuery<unknown>[], options?: TransactionOptions): Promise<QueryResult<unknown>[]>;
  /** Runs independent reads together and returns the rows of each. */
  reads<Queries extends readonly CompiledQuery<unknown>[]>(queries: readonly [...Queries]): Promise<RowsOf<Queries>>;
}
