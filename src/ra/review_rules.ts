import type { InstanceTable, Product } from '../store/schema.js';
import type { RaContext } from './context.js';

/** OV needs one approval; EV needs two, from two different reviewers. */
export function approvalsRequired(product: Product): number {
  return product === 'ev' ? 2 : product === 'ov' ? 1 : 0;
}

/** Approvals given in the current submission round (a resubmission starts over). */
export async function currentApprovals(ctx: RaContext, instance: InstanceTable): Promise<{ reviewerId: string; reviewerEmail: string; at: string }[]> {
  const rows = await ctx.db
    .selectFrom('reviews')
    .innerJoin('users', 'users.id', 'reviews.reviewer_id')
    .select(['reviews.reviewer_id', 'users.email', 'reviews.created_at'])
    .where('reviews.instance_id', '=', instance.id)
    .where('reviews.round', '=', instance.submission_round)
    .where('reviews.decision', '=', 'approve')
    .orderBy('reviews.created_at')
    .execute();
  return rows.map((r) => ({ reviewerId: r.reviewer_id, reviewerEmail: r.email, at: r.created_at }));
}
