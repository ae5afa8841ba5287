/**
 * Failing open ACME orders. An order that can no longer be finalized (an
 * authorization failed or was deactivated, or the order expired) turns
 * invalid and hands its DV instance back in one step, so the subscriber's
 * next order can claim the instance: certbot and lego never read a failed
 * order again, so this cannot wait for the order to be read.
 */
import type { Db } from '../../store/database.js';
import type { AcmeOrderStatus, AcmeOrderTable } from '../../store/schema.js';
import { nextStatus } from '../state_machine.js';
import { recordEvent } from '../timeline.js';
import type { StoredProblem } from './errors.js';

export type OpenOrder = Pick<AcmeOrderTable, 'id' | 'instance_id'>;

const OPEN_STATUSES: AcmeOrderStatus[] = ['pending', 'ready', 'processing'];

/**
 * Turns each still-open order invalid with `problem` and hands its instance
 * back. Run it in the transaction of the change that failed the orders.
 */
export async function failOrders(db: Db, orders: readonly OpenOrder[], problem: StoredProblem, reason: string, now: Date): Promise<void> {
  for (const order of orders) {
    const failed = await db
      .updateTable('acme_orders')
      .set({ status: 'invalid', error: JSON.stringify(problem) })
      .where('id', '=', order.id)
      .where('status', 'in', OPEN_STATUSES)
      .executeTakeFirst();
    // Settled meanwhile (finalized, or failed by another request): its instance is not this call's to release.
    if (Number(failed.numUpdatedRows) > 0) await releaseInstance(db, order, reason, now);
  }
}

/** Returns the instance to pending_application while it waits for domain validation (no CSR was taken yet), so the quota is not lost. */
async function releaseInstance(db: Db, order: OpenOrder, reason: string, now: Date): Promise<void> {
  const from = 'domain_verification';
  const released = await db
    .updateTable('instances')
    .set({ status: nextStatus(from, 'withdraw', 'dv'), expected_issue_earliest: null, expected_issue_latest: null, updated_at: now.toISOString() })
    .where('id', '=', order.instance_id)
    .where('status', '=', from)
    .executeTakeFirst();
  if (Number(released.numUpdatedRows) === 0) return;
  await recordEvent(db, {
    instanceId: order.instance_id,
    type: 'withdrawn',
    message: `ACME order ${order.id} ${reason}; the instance is pending application again and can serve another order.`,
    at: now,
    data: { orderId: order.id },
  });
}
