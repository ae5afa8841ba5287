/** ACME rate limits: new orders per account per hour and per registered domain per week (settings). */
import { insertRows, prepared } from '../../store/prepared.js';
import type { RaContext } from '../context.js';
import { acmeError } from './errors.js';

const HOUR_MS = 3600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;

/**
 * Seconds until one more action fits a sliding window that already holds
 * `count` actions, the oldest at `oldestAt`; null when it fits now.
 */
export function retryAfterSeconds(input: { count: number; limit: number; oldestAt: Date | null; windowMs: number; now: Date }): number | null {
  if (input.count < input.limit) return null;
  const frees = (input.oldestAt ?? input.now).getTime() + input.windowMs;
  return Math.max(1, Math.ceil((frees - input.now.getTime()) / 1000));
}

const bucketRow = prepared((db, bucket: string, since: string) =>
  db
    .selectFrom('acme_rate_events')
    .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.min('at').as('oldest')])
    .where('bucket', '=', bucket)
    .where('at', '>', since),
);

async function bucketState(ctx: RaContext, bucket: string, since: Date): Promise<{ count: number; oldestAt: Date | null }> {
  const [row] = await bucketRow(ctx.db, bucket, since.toISOString());
  return { count: Number(row?.count ?? 0), oldestAt: row?.oldest ? new Date(String(row.oldest)) : null };
}

/** Refuses a new order with `rateLimited` and Retry-After when the account or any of the domains is at its limit. */
export async function enforceOrderLimits(ctx: RaContext, accountId: string, registeredDomains: string[]): Promise<void> {
  const now = ctx.clock.now();
  const settings = ctx.settings.current();
  const checks = [
    { bucket: `account:${accountId}`, limit: settings.acmeOrdersPerAccountPerHour, windowMs: HOUR_MS, what: `this account may place ${settings.acmeOrdersPerAccountPerHour} new orders per hour` },
    ...registeredDomains.map((d) => ({ bucket: `domain:${d}`, limit: settings.acmeOrdersPerDomainPerWeek, windowMs: WEEK_MS, what: `${d} may be named in ${settings.acmeOrdersPerDomainPerWeek} new orders per week` })),
  ];
  for (const check of checks) {
    const state = await bucketState(ctx, check.bucket, new Date(now.getTime() - check.windowMs));
    const retryAfter = retryAfterSeconds({ ...state, limit: check.limit, windowMs: check.windowMs, now });
    if (retryAfter !== null) {
      throw acmeError('rateLimited', `Rate limit reached: ${check.what}. Try again in ${retryAfter} seconds; an admin can raise the limit in the settings.`, { details: { retryAfterSeconds: retryAfter } });
    }
  }
}

// Events older than the longest window are deleted at most this often: the delete walks the whole table.
const PRUNE_EVERY_MS = 10 * 60_000;
const nextPruneAt = new WeakMap<RaContext, number>();

export async function countOrder(ctx: RaContext, accountId: string, registeredDomains: string[]): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.executeQuery(insertRows(ctx.db, 'acme_rate_events', [`account:${accountId}`, ...registeredDomains.map((d) => `domain:${d}`)].map((bucket) => ({ bucket, at: now.toISOString() }))));
  if ((nextPruneAt.get(ctx) ?? 0) > now.getTime()) return;
  nextPruneAt.set(ctx, now.getTime() + PRUNE_EVERY_MS);
  await ctx.db.deleteFrom('acme_rate_events').where('at', '<', new Date(now.getTime() - WEEK_MS).toISOString()).execute();
}
