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
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const DEFAULT_MAX_NAMED_PER_CONNECTION = 400;
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;

/** The statement name for a SQL text, or null for a text that runs unnamed. */
export function statementName(sql: string): string | null {
  if (!NAMEABLE.test(sql)) return null;
  return `cd_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
}

export function namedStatementPool(pool: pg.Pool, options: { maxPerConnection?: number } = {}): PostgresPool {
  const maxPerConnection = options.maxPerConnection ?? DEFAULT_MAX_NAMED_PER_CONNECTION;
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
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let own = prepared.get(client);
      if (!own) prepared.set(client, (own = new Set()));
      const connectionNames = own;
      const query = (sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>): unknown => {
        if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as pg.Submittable);
        const values = parameters ? [...parameters] : [];
        const name = values.length > 0 ? nameOf(sqlOrCursor) : null;
        if (name && (connectionNames.has(name) || connectionNames.size < maxPerConnection)) {
          connectionNames.add(name);
          return client.query({ name, text: sqlOrCursor, values });
        }
        return client.query(sqlOrCursor, values);
      };
      return { query: query as PostgresPoolClient['query'], release: () => client.release() };
    },
    end: () => pool.end(),
  };
}
