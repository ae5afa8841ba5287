/**
 * Live instances per status, read from the `instance_counts` table that
 * triggers keep in the same transaction as every status change (migration
 * 0003): a handful of rows instead of counting the instances themselves.
 */
import type { InstanceStatus } from '../store/schema.js';
import type { RaContext } from './context.js';
import { STATUSES } from './state_machine.js';

const ALL_OWNERS = '*';

/** Counts of instances that are not combined into another, for one owner or (null) for all. */
export async function liveCounts(ctx: RaContext, ownerId: string | null): Promise<Record<InstanceStatus, number>> {
  const rows = await ctx.db
    .selectFrom('instance_counts')
    .select(['status', (eb) => eb.fn.sum<number | string>('n').as('n')])
    .where('owner_id', '=', ownerId ?? ALL_OWNERS)
    .groupBy('status')
    .execute();
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<InstanceStatus, number>;
  for (const row of rows) if (row.status in counts) counts[row.status] = Number(row.n);
  return counts;
}

export function totalOf(counts: Record<InstanceStatus, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
