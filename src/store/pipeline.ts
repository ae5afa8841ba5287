/**
 * Several statements in one trip to the database. A request that knows its
 * statements up front (the reads behind an instance's detail, the writes of
 * one workflow step) hands them over together: on PostgreSQL they leave in one
 * socket write and come back in one pass, instead of one round trip each;
 * embedded SQLite runs them one after the other, as it would anyway.
 */
import type { CompiledQuery, Kysely, QueryResult } from 'kysely';

/** The rows of each query, in the order of the queries. */
export type RowsOf<Queries extends readonly CompiledQuery<unknown>[]> = { [K in keyof Queries]: Queries[K] extends CompiledQuery<infer Row> ? Row[] : never };

export interface TransactionOptions {
  /**
   * Looks at the first statement's result before the others are sent; what it
   * throws rolls the transaction back and is rethrown (a guard such as "the
   * status was still the one read").
   */
  checkFirst?(result: QueryResult<unknown>): void;
}

export interface Pipeline {
  /** Runs `queries` as one transaction: all of them or, if any fails, none (the first failure is thrown). */
  transaction(queries: readonly CompiledQuery<unknown>[], options?: TransactionOptions): Promise<QueryResult<unknown>[]>;
  /** Runs independent reads together and returns the rows of each. */
  reads<Queries extends readonly CompiledQuery<unknown>[]>(queries: readonly [...Queries]): Promise<RowsOf<Queries>>;
}

/** The pipeline of a database whose statements cost no round trip (embedded SQLite): one statement after the other. */
export function sequentialPipeline<DB>(db: Kysely<DB>): Pipeline {
  return {
    async transaction(queries, options = {}) {
      return db.transaction().execute(async (trx) => {
        const results: QueryResult<unknown>[] = [];
        for (const query of queries) {
          const result = await trx.executeQuery(query);
          if (results.length === 0) options.checkFirst?.(result);
          results.push(result);
        }
        return results;
      });
    },
    async reads<Queries extends readonly CompiledQuery<unknown>[]>(queries: readonly [...Queries]) {
      const rows: unknown[][] = [];
      for (const query of queries) rows.push((await db.executeQuery(query)).rows);
      return rows as RowsOf<Queries>;
    },
  };
}
