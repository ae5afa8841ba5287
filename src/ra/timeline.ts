/** The instance's progress: every step is an event, shown as "View progress". */
import type { CompiledQuery } from 'kysely';
import type { Db } from '../store/database.js';
import { prepared } from '../store/prepared.js';

export type EventType =
  | 'instance_created'
  | 'application_saved'
  | 'document_uploaded'
  | 'combined'
  | 'submitted'
  | 'mail_sent'
  | 'mail_failed'
  | 'email_confirmed'
  | 'dcv_record_found'
  | 'dcv_record_not_found'
  | 'caa_forbidden'
  | 'phone_verified'
  | 'review_approved'
  | 'review_rejected'
  | 'issued'
  | 'issuance_failed'
  | 'validation_failed'
  | 'withdrawn'
  | 'reissue_requested'
  | 'revoked'
  | 'acme_order_created'
  | 'acme_challenge_validated'
  | 'acme_challenge_failed'
  | 'acme_finalized';

export interface TimelineEvent {
  type: EventType;
  message: string;
  at: string;
  data: Record<string, unknown> | null;
}

export interface NewEvent {
  instanceId: string;
  type: EventType;
  message: string;
  at: Date;
  actorId?: string | null;
  data?: Record<string, unknown>;
}

export async function recordEvent(db: Db, event: NewEvent): Promise<void> {
  await db.executeQuery(eventInsert(db, event));
}

/** The insert of `event`, unsent: to go with the step's other writes in one pipeline. */
export function eventInsert(db: Db, event: NewEvent): CompiledQuery {
  return insertEvent.compiled(db, event.instanceId, event.type, event.message, event.data ? JSON.stringify(event.data) : null, event.actorId ?? null, event.at.toISOString());
}

const insertEvent = prepared((db, instanceId: string, type: EventType, message: string, data: string | null, actorId: string | null, at: string) =>
  db.insertInto('events').values({ instance_id: instanceId, type, message, data, actor_id: actorId, at }),
);

export async function listEvents(db: Db, instanceId: string): Promise<TimelineEvent[]> {
  const rows = await db.selectFrom('events').select(['type', 'message', 'at', 'data']).where('instance_id', '=', instanceId).orderBy('id').execute();
  return rows.map((r) => ({ type: r.type as EventType, message: r.message, at: r.at, data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null }));
}
