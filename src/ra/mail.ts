/** Mail the RA sends to applicants; each attempt lands on the instance's timeline. */
import type { CompiledQuery } from 'kysely';
import { CertdeskError } from '../errors.js';
import type { OutgoingMail } from '../notify/mailer.js';
import { confirmationMail } from '../notify/templates.js';
import type { InstanceTable } from '../store/schema.js';
import type { ApplicationView } from './applications.js';
import type { RaContext } from './context.js';
import { eventInsert, recordEvent, type NewEvent } from './timeline.js';

export function confirmationUrl(ctx: RaContext, token: string): string {
  return `${ctx.publicUrl}/confirm-email?token=${encodeURIComponent(token)}`;
}

/** Where the subscriber sees the instance in the console. */
export function detailsUrl(ctx: RaContext, instanceId: string): string {
  return `${ctx.publicUrl}/instances/${encodeURIComponent(instanceId)}`;
}

export function confirmationMailOf(ctx: RaContext, instance: InstanceTable, application: ApplicationView, token: string): OutgoingMail {
  return confirmationMail({
    applicantName: application.contact.name,
    to: application.contact.email,
    domains: application.domains.map((d) => d.display),
    product: instance.product,
    confirmUrl: confirmationUrl(ctx, token),
    instanceId: instance.id,
  });
}

/** Sends a mail; a delivery failure is recorded and logged, never lost silently nor fatal to the workflow step. */
export async function deliver(ctx: RaContext, instanceId: string, mail: OutgoingMail, what: string): Promise<void> {
  const at = ctx.clock.now();
  try {
    const result = await ctx.mailer().send(mail);
    await recordEvent(ctx.db, sentEvent(instanceId, mail, what, result.delivered, at));
  } catch (err) {
    const reason = err instanceof CertdeskError ? err.message : 'the mail server did not accept the message';
    ctx.logger.warn({ instanceId, to: mail.to, reason }, 'mail delivery failed');
    await recordEvent(ctx.db, { instanceId, type: 'mail_failed', message: `Could not send ${what} to ${mail.to}: ${reason}`, at, data: { to: mail.to } });
  }
}

/** A mail that tells of a workflow step, split around the step's transaction. */
export interface StepMail {
  /** Without an SMTP server: the mail's outbox row and its timeline event, to commit with the step. */
  writes: CompiledQuery[];
  /** With one: sends the mail once the step is committed. */
  afterCommit(): Promise<void>;
}

/** The mail exists exactly when its step does: kept in the outbox in the step's own transaction, or sent over SMTP after it. */
export function stepMail(ctx: RaContext, instanceId: string, mail: OutgoingMail, what: string, at: Date): StepMail {
  const insert = ctx.mailer().outboxInsert(mail);
  if (!insert) return { writes: [], afterCommit: () => deliver(ctx, instanceId, mail, what) };
  return { writes: [insert, eventInsert(ctx.db, sentEvent(instanceId, mail, what, 'outbox', at))], afterCommit: async () => undefined };
}

function sentEvent(instanceId: string, mail: OutgoingMail, what: string, delivered: 'smtp' | 'outbox', at: Date): NewEvent {
  return {
    instanceId,
    type: 'mail_sent',
    message: delivered === 'smtp' ? `Sent ${what} to ${mail.to}.` : `Queued ${what} to ${mail.to} in the outbox (no SMTP server is configured).`,
    at,
    data: { to: mail.to, subject: mail.subject, delivered },
  };
}
