/**
 * Hot queries built and compiled once per dialect instead of on every call:
 * Kysely rebuilds (immutable nodes) and recompiles a query each time it runs,
 * which costs more than SQLite takes to answer the small lookups made on every
 * request. The compiled SQL is reused with the new call's arguments, so the
 * query's parameters must be exactly the arguments, in order; the first
 * compilation checks that and refuses a query shaped otherwise.
 */
import { sql, type Compilable, type CompiledQuery, type InsertObject, type Kysely, type UpdateObject } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

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

/** A row value Kysely turns into SQL rather than a parameter (an expression or a callback building one). */
function isExpression(value: unknown): boolean {
  return typeof value === 'function' || (typeof value === 'object' && value !== null && typeof (value as { toOperationNode?: unknown }).toOperationNode === 'function');
}

/**
 * Appends `row`'s defined values to `values`, and its columns to `columns`
 * when that is empty, else checks they are the same, in the same order.
 * False when they are not, or when a value is an expression.
 */
function collect(row: Record<string, unknown>, columns: string[], values: unknown[]): boolean {
  const first = columns.length === 0;
  let k = 0;
  for (const column in row) {
    const value = row[column];
    if (value === undefined) continue;
    if (isExpression(value)) return false;
    if (first) columns.push(column);
    else if (columns[k] !== column) return false;
    values.push(value);
    k++;
  }
  return k > 0 && k === columns.length;
}

// Per dialect adapter, per statement shape: the first compilation of such a statement.
const compiledShapes = new WeakMap<object, Map<string, CompiledQuery>>();

/**
 * The compiled `shape` with `values` as its parameters; compiled now the
 * first time, and kept once its parameters prove to be `values` in order
 * (else compiled on every call). For a query whose SQL varies with a few
 * choices (which conditions it has, how long a list is): `shape` names the
 * query and those choices, uniquely across callers.
 */
export function compiledOnce<Row>(db: Db, shape: string, values: readonly unknown[], compile: () => CompiledQuery<Row>): CompiledQuery<Row> {
  const adapter = db.getExecutor().adapter;
  let shapes = compiledShapes.get(adapter);
  if (!shapes) compiledShapes.set(adapter, (shapes = new Map()));
  const known = shapes.get(shape) as CompiledQuery<Row> | undefined;
  if (known) return { ...known, parameters: values };
  const first = compile();
  if (first.parameters.length === values.length && first.parameters.every((p, i) => p === values[i])) shapes.set(shape, first);
  return first;
}

/**
 * `db.insertInto(table).values(rows)`, compiled once per dialect, table,
 * column list and row count: writes are most of a workflow step's
 * statements, and Kysely compiles each anew (14 µs for a certificate row,
 * against 2 µs reused). Rows must share one column list; a shape whose
 * parameters are not the rows' values in order, or a row holding an
 * expression, is compiled on every call instead.
 */
export function insertRows<Table extends keyof Database & string>(db: Db, table: Table, rows: InsertObject<Database, Table> | readonly InsertObject<Database, Table>[]): CompiledQuery {
  const list = (Array.isArray(rows) ? rows : [rows]) as readonly Record<string, unknown>[];
  const compile = () => db.insertInto(table).values(rows as InsertObject<Database, Table>[]).compile();
  const columns: string[] = [];
  const values: unknown[] = [];
  if (list.length === 0 || !list.every((row) => collect(row, columns, values))) return compile();
  return compiledOnce(db, `insert ${table}(${columns.join()})×${list.length}`, values, compile);
}

/** `db.updateTable(table).set(changes)` where every column of `where` equals its value, compiled once per shape like `insertRows`. */
export function updateWhere<Table extends keyof Database & string>(db: Db, table: Table, changes: UpdateObject<Database, Table>, where: Partial<Record<keyof Database[Table] & string, string | number>>): CompiledQuery {
  const compile = () => {
    // Kysely cannot type a table chosen by a type parameter; the column names come from the typed arguments.
    let query = (db as unknown as Kysely<Record<string, Record<string, unknown>>>).updateTable(table as string).set(changes as Record<string, unknown>);
    for (const [column, value] of Object.entries(where)) query = query.where(sql.ref(column), '=', value);
    return query.compile();
  };
  const columns: string[] = [];
  const keys: string[] = [];
  const values: unknown[] = [];
  if (!collect(changes as Record<string, unknown>, columns, values) || !collect(where, keys, values)) return compile();
  return compiledOnce(db, `update ${table} set ${columns.join()} where ${keys.join()}`, values, compile);
}
