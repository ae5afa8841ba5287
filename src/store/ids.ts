import { randomPool } from '../random_pool.js';

/** Random, URL-safe identifiers with a short prefix that says what they name (e.g. `inst_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomPool.take(12).toString('base64url')}`;
}
