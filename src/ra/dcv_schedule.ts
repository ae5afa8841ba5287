/**
 * When to re-check domain control in the background while an application
 * waits for the subscriber's DNS or file record.
 */

/**
 * How long a pending application keeps re-checking before it fails. The BRs
 * (4.2.1) let a CA reuse completed validation data for up to 398 days; this
 * is different: it bounds how long an application may sit unvalidated.
 */
export const DCV_DEADLINE_DAYS = 30;

const MINUTE_MS = 60 * 1000;
const MAX_DELAY_MS = 60 * MINUTE_MS;

/** The moment an application that started waiting at `startedAt` stops re-checking. */
export function dcvDeadline(startedAt: Date): Date {
  return new Date(startedAt.getTime() + DCV_DEADLINE_DAYS * 24 * 60 * MINUTE_MS);
}

/**
 * The next check after `attempt` checks have run, the last at `lastCheck`:
 * 1 minute after the first, then 2, 4, 8, ... minutes, never more than an
 * hour apart. Null when that moment is after `deadline`: stop checking.
 */
export function nextCheckAt(attempt: number, lastCheck: Date, deadline: Date): Date | null {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt counts checks already run (1 or more), got ${attempt}`);
  const delay = Math.min(2 ** (attempt - 1) * MINUTE_MS, MAX_DELAY_MS);
  const next = new Date(lastCheck.getTime() + delay);
  return next.getTime() > deadline.getTime() ? null : next;
}
