/**
 * Hot queries built and compiled once per dialect instead of on every call:
 * Kysely rebuilds (immutable nodes) and recompiles a query each time it runs,
 * which costs more than SQLite takes to answer the small lookups made on every
 * request. The compiled SQL is reused with the new call's arguments, so the
 * query's parameters must be exactly the arguments, in order; the first
 * compilation checks that and refuses a query shaped otherwise.
 */
import type { Compilable, CompiledQuery } from 'kysely';
import type { Db } from './database.js';

export function prepared<Args extends unknown[], Row>(build: (db: Db, ...args: Args) => Compilable<Row>): (db: Db, ...args: Args) => Promise<Row[]> {
  // Keyed by the dialect adapter, which a Kysely instance shares with its transactions.
  const compiled = new WeakMap<object, CompiledQuery<Row>>();
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let query = compiled.get(adapter);
    if (!query) {
      query = build(db, ...args).compile();
      const parameters = query.parameters;
      if (parameters.length !== args.length || parameters.some((p, i) => p !== args[i])) {
        throw new Error(`prepared: the parameters of ${query.sql} are not the arguments in order`);
      }
      compiled.set(adapter, query);
      return (await db.executeQuery(query)).rows;
    }
    return (await db.executeQuery<Row>({ ...query, parameters: args })).rows;
  };
}
