/**
 * Builds result rows from better-sqlite3's raw mode. In object mode the
 * driver creates each row object in C++, setting one property after another,
 * which cost 0.4–0.5 µs per column (8–10 µs for an instance row against 4 µs
 * for the lookup itself). A row built here is one object literal of the
 * statement's columns, compiled once per statement, so V8 gives every row of
 * it the same shape.
 */
export type RowFactory = (values: readonly unknown[]) => Record<string, unknown>;

/**
 * The factory for rows with these column names, in order. As in object mode,
 * a name that appears twice keeps its last value at its first position.
 * Names are computed keys, so any text is an own property, even `__proto__`
 * (which object mode drops).
 */
export function rowFactory(columns: readonly string[]): RowFactory {
  const fields = columns.map((name, i) => `[${JSON.stringify(name)}]: values[${i}]`);
  return new Function('values', `return { ${fields.join(', ')} };`) as RowFactory;
}
