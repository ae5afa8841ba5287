/**
 * Search by domain. A query matches an instance when one of its bound names,
 * or a parent of one, starts with it: "example.com" finds example.com,
 * www.example.com and example.com.au; "shop" finds shop.example.com; "www.ex"
 * finds www.example.org. A query is matched at the start of a label, never
 * in the middle of one. The `instance_terms` table (kept by triggers, see
 * migration 0003) holds every name and its parents, so a search is one range
 * of an index whatever the size of the store.
 */
import type { Db } from '../store/database.js';

/** Lower case, no surrounding spaces or trailing dot; '' means "no filter". */
export function normalizeDomainQuery(query: string): string {
  return query.trim().toLowerCase().replace(/\.+$/, '');
}

/** The half-open range [from, to) of terms that start with `prefix` (a non-empty string). */
export function prefixRange(prefix: string): { from: string; to: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { from: prefix, to: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

/** Ids of the instances whose names match `query` (normalized, non-empty), as a subquery. */
export function instancesMatching(db: Db, query: string) {
  const { from, to } = prefixRange(query);
  return db.selectFrom('instance_terms').select('instance_terms.instance_id').where('instance_terms.term', '>=', from).where('instance_terms.term', '<', to);
}
