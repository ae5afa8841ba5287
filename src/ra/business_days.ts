/**
 * Business-day arithmetic for the expected issue date the console shows.
 * Business days are Monday to Friday in UTC; public holidays are not modelled
 * (they differ per CA location), so the window is a promise, not a deadline.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

function isWeekend(date: Date): boolean {
  const day = date.getUTCDay();
  return day === 0 || day === 6;
}

/** Monday 00:00 UTC after a weekend moment; any weekday moment unchanged. */
function startOfNextBusinessDay(from: Date): Date {
  if (!isWeekend(from)) return new Date(from);
  const midnight = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  const daysToMonday = from.getUTCDay() === 6 ? 2 : 1;
  return new Date(midnight + daysToMonday * DAY_MS);
}

/**
 * `from` moved forward by `days` business days, keeping the time of day
 * (Friday 10:00 + 3 = Wednesday 10:00). A weekend `from` starts counting at
 * the following Monday 00:00, so a Saturday submission never gets an earlier
 * date than the Friday before it.
 */
export function addBusinessDays(from: Date, days: number): Date {
  if (!Number.isInteger(days) || days < 0) throw new RangeError(`days must be a non-negative integer, got ${days}`);
  let at = startOfNextBusinessDay(from).getTime();
  for (let left = days; left > 0; ) {
    at += DAY_MS;
    if (!isWeekend(new Date(at))) left -= 1;
  }
  return new Date(at);
}

export type ValidationLevel = 'dv' | 'ov' | 'ev';

/**
 * When the certificate should be issued, counted from submission (the seeds:
 * DV normally within 2 hours; OV/EV within 3 to 7 business days).
 */
export function expectedIssueWindow(product: ValidationLevel, submittedAt: Date): { earliest: Date; latest: Date } {
  if (product === 'dv') {
    return { earliest: new Date(submittedAt), latest: new Date(submittedAt.getTime() + 2 * HOUR_MS) };
  }
  return { earliest: addBusinessDays(submittedAt, 3), latest: addBusinessDays(submittedAt, 7) };
}
