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
import { storedProblem, type StoredProblem } from './errors.js';

export type OpenOrder = Pick<AcmeOrderTable, 'id' | 'instance_id'>;

const OPEN_STATUSES: AcmeOrderStatus[] = ['pending', 'ready', 'processing'];

/**
 * Turns each still-open order invalid with `problem` and hands its instance
 * back. Run it in the transaction of the change that failed the orders.
 */
/** The instance's open orders, failed because its application changed outside ACME (withdrawn over REST); the instance is not released. */
export async function failOrdersOfInstance(db: Db, instanceId: string): Promise<void> {
  await db
    .updateTable('acme_orders')
    .set({ status: 'invalid', error: JSON.stringify(storedProblem('unauthorized', `The application on instance ${instanceId} was withdrawn outside ACME; place a new order.`)) })
    .where('instance_id', '=', instanceId)
    .where('status', 'in', OPEN_STATUSES)
    .execute();
}

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

/**
 * Returns the instance to pending_application, so the quota is not lost:
 * from domain_verification while the order waits for validation, or from
 * validation_failed when the issuance its finalize asked for was refused.
 */
export async function releaseInstance(db: Db, order: OpenOrder, reason: string, now: Date, from: 'domain_verification' | 'validation_failed' = 'domain_verification'): Promise<void> {
  const released = await db
    .updateTable('instances')
    .set({ status: nextStatus(from, 'withdraw', 'dv'), expected_issue_earliest: null, expected_issue_latest: null, updated_at: now.toISOString() })
    .where('id', '=', order.instance_id)
    .where('status', '=', from)
    // An instance that holds a certificate (issued over REST since, and being reissued) is not the order's to hand back.
    .where('certificate_id', 'is', null)
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
