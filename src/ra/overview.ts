/** The console's home page in one read: counts per status, certificates expiring soon, recent activity. */
import type { InstanceStatus } from '../store/schema.js';
import type { Actor } from './actor.js';
import type { RaContext } from './context.js';
import { STATUSES } from './state_machine.js';

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
  let counts = ctx.db.selectFrom('instances').select(['status', (eb) => eb.fn.countAll<number | string>().as('n')]).where('combined_into', 'is', null).groupBy('status');
  let expiring = ctx.db
    .selectFrom('instances')
    .innerJoin('certificates', 'certificates.id', 'instances.certificate_id')
    .select(['instances.id', 'instances.domains_text', 'instances.product', 'certificates.not_after'])
    .where('instances.status', '=', 'issued')
    .where('certificates.not_after', '>', now.toISOString())
    .where('certificates.not_after', '<=', horizon)
    .orderBy('certificates.not_after')
    .limit(50);
  let events = ctx.db
    .selectFrom('events')
    .innerJoin('instances', 'instances.id', 'events.instance_id')
    .select(['events.instance_id', 'events.type', 'events.message', 'events.at'])
    .orderBy('events.id', 'desc')
    .limit(RECENT_EVENTS);
  if (ownOnly) {
    counts = counts.where('owner_id', '=', actor.id);
    expiring = expiring.where('instances.owner_id', '=', actor.id);
    events = events.where('instances.owner_id', '=', actor.id);
  }
  const [countRows, expiringRows, eventRows, queue] = await Promise.all([
    counts.execute(),
    expiring.execute(),
    events.execute(),
    actor.role === 'subscriber'
      ? Promise.resolve(null)
      : ctx.db.selectFrom('instances').select((eb) => eb.fn.countAll<number | string>().as('n')).where('status', '=', 'under_review').where('combined_into', 'is', null).executeTakeFirstOrThrow(),
  ]);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<InstanceStatus, number>;
  for (const row of countRows) byStatus[row.status] = Number(row.n);
  return {
    counts: byStatus,
    total: Object.values(byStatus).reduce((a, b) => a + b, 0),
    expiringSoon: expiringRows.map((r) => ({
      instanceId: r.id,
      domains: r.domains_text ? r.domains_text.split(' ') : [],
      product: r.product,
      notAfter: r.not_after,
      daysLeft: Math.max(0, Math.floor((Date.parse(r.not_after) - now.getTime()) / 86400_000)),
    })),
    recentActivity: eventRows.map((e) => ({ instanceId: e.instance_id, type: e.type, message: e.message, at: e.at })),
    reviewQueue: queue ? Number(queue.n) : null,
  };
}
