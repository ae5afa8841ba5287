import { randomBytes } from 'node:crypto';

/** Random, URL-safe identifiers with a short prefix that says what they name (e.g. `inst_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
