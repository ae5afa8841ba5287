/**
 * The pipeline of embedded SQLite, whose statements cost no round trip: a
 * step's statements run back to back in one hold of the connection, straight
 * on the batcher, without Kysely's connection hand-off and a promise for each
 * statement in between. A transaction is a savepoint in the open group-commit
 * batch, exactly as a Kysely transaction on the same connection is.
 */
import type { CompiledQuery, QueryResult } from 'kysely';
import type { GroupCommitSqlite } from './group_commit_sqlite.js';
import type { Pipeline, RowsOf } from './pipeline.js';

export function sqlitePipeline(batcher: GroupCommitSqlite): Pipeline {
  const readAll = <Queries extends readonly CompiledQuery<unknown>[]>(queries: readonly [...Queries]): RowsOf<Queries> =>
    queries.map((query) => batcher.execute(query).rows) as RowsOf<Queries>;
  return {
    async transaction(queries, options = {}) {
      await batcher.acquire();
      try {
        batcher.beginTransaction();
        const results: QueryResult<unknown>[] = [];
        try {
          for (const query of queries) {
            const result = batcher.execute(query);
            if (results.length === 0 && options.guardFirst && Number(result.numAffectedRows) !== 1) throw options.guardFirst();
            results.push(result);
          }
          batcher.commitTransaction();
        } catch (error) {
          batcher.rollbackTransaction();
          throw error;
        }
        options.readBack?.fill(readAll(options.readBack.pending));
        return results;
      } finally {
        batcher.release();
      }
    },
    async reads(queries) {
      await batcher.acquire();
      try {
        return readAll(queries);
      } finally {
        batcher.release();
      }
    },
  };
}
