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

export interface PreparedQuery<Args extends unknown[], Row> {
  (db: Db, ...args: Args): Promise<Row[]>;
  /** The query for these arguments, unsent: to go with others in one pipeline (see pipeline.ts). */
  compiled(db: Db, ...args: Args): CompiledQuery<Row>;
}

export function prepared<Args extends unknown[], Row>(build: (db: Db, ...args: Args) => Compilable<Row>): PreparedQuery<Args, Row> {
  // Keyed by the dialect adapter, which a Kysely instance shares with its transactions.
  const compiled = new WeakMap<object, CompiledQuery<Row>>();
  const withArguments = (db: Db, args: Args): CompiledQuery<Row> => {
    const adapter = db.getExecutor().adapter;
    const query = compiled.get(adapter);
    if (query) return { ...query, parameters: args };
    const first = build(db, ...args).compile();
    const parameters = first.parameters;
    if (parameters.length !== args.length || parameters.some((p, i) => p !== args[i])) {
      throw new Error(`prepared: the parameters of ${first.sql} are not the arguments in order`);
    }
    compiled.set(adapter, first);
    return first;
  };
  const run = async (db: Db, ...args: Args): Promise<Row[]> => (await db.executeQuery(withArguments(db, args))).rows;
  return Object.assign(run, { compiled: (db: Db, ...args: Args) => withArguments(db, args) });
}
