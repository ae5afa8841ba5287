/** The console's home page in one read: counts per status, certificates expiring soon, recent activity. */
import type { InstanceStatus } from '../store/schema.js';
import type { Actor } from './actor.js';
import type { RaContext } from './context.js';
import { liveCounts, totalOf } from './instance_counts.js';

const EXPIRING_DAYS = 30;
const RECENT_EVENTS = 12;

export interface Overview {
  counts: Record<InstanceStatus, number>;
  total: number;
  expiringSoon: { instanceId: string; domains: string[]; product: string; notAfter: string; daysLeft: number }[];
  recentActivity: { instanceId: string; type: string; message: string; at: string }[];
  reviewQueue: number | null;
}

export async function overview(ctx: RaContext, actor: Actor): Promise<Overview> {
  const ownOnly = actor.role !== 'admin';
  const now = ctx.clock.now();
  const horizon = new Date(now.getTime() + EXPIRING_DAYS * 86400_000).toISOString();
  // Driven from certificates by not_after (an index), keeping those still current on an issued instance.
  let expiring = ctx.db
    .selectFrom('certificates')
    .innerJoin('instances', 'instances.id', 'certificates.instance_id')
    .select(['instances.id', 'instances.domains_text', 'instances.product', 'certificates.not_after'])
    .where('certificates.not_after', '>', now.toISOString())
    .where('certificates.not_after', '<=', horizon)
    .whereRef('instances.certificate_id', '=', 'certificates.id')
    .where('instances.status', '=', 'issued')
    .orderBy('certificates.not_after')
    .limit(50);
  let events = ctx.db
    .selectFrom('events')
    .innerJoin('instances', 'instances.id', 'events.instance_id')
    .select(['events.instance_id', 'events.type', 'events.message', 'events.at'])
    .orderBy('events.id', 'desc')
    .limit(RECENT_EVENTS);
  if (ownOnly) {
    expiring = expiring.where('certificates.owner_id', '=', actor.id);
    events = events.where('instances.owner_id', '=', actor.id);
  }
  const [byStatus, expiringRows, eventRows, all] = await Promise.all([
    liveCounts(ctx, ownOnly ? actor.id : null),
    expiring.execute(),
    events.execute(),
    actor.role === 'reviewer' ? liveCounts(ctx, null) : Promise.resolve(null),
  ]);
  return {
    counts: byStatus,
    total: totalOf(byStatus),
    expiringSoon: expiringRows.map((r) => ({
      instanceId: r.id,
      domains: r.domains_text ? r.domains_text.split(' ') : [],
      product: r.product,
      notAfter: r.not_after,
      daysLeft: Math.max(0, Math.floor((Date.parse(r.not_after) - now.getTime()) / 86400_000)),
    })),
    recentActivity: eventRows.map((e) => ({ instanceId: e.instance_id, type: e.type, message: e.message, at: e.at })),
    reviewQueue: actor.role === 'subscriber' ? null : (all ?? byStatus).under_review,
  };
}
