import { randomPool } from '../random_pool.js';

/** base64url's 64 characters in ASCII order, so that strings of them compare as the numbers they encode. */
const SORTABLE_DIGITS = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
/** 8 digits of 6 bits: milliseconds since 1970 up to the year 10889. */
const TIME_DIGITS = 8;

/** `ms` as TIME_DIGITS characters that sort (byte by byte) in the order of the times. */
export function sortableTime(ms: number): string {
  let out = '';
  let rest = Math.floor(ms);
  for (let i = 0; i < TIME_DIGITS; i++) {
    out = SORTABLE_DIGITS[rest % 64] + out;
    rest = Math.floor(rest / 64);
  }
  return out;
}

/**
 * URL-safe identifiers with a short prefix that says what they name (e.g.
 * `inst_…`): the creation time to the millisecond, then 72 random bits. Ids
 * made one after the other sort together, so a new row lands on the last page
 * of its table's primary-key index instead of a random one, and a commit
 * rewrites fewer pages.
 */
export function newId(prefix: string): string {
  return `${prefix}_${sortableTime(Date.now())}${randomPool.take(9).toString('base64url')}`;
}
