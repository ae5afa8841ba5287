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

export async function sendConfirmationMail(ctx: RaContext, instance: InstanceTable, application: ApplicationView, token: string): Promise<void> {
  const mail = confirmationMail({
    applicantName: application.contact.name,
    to: application.contact.email,
    domains: application.domains.map((d) => d.display),
    product: instance.product,
    confirmUrl: confirmationUrl(ctx, token),
    instanceId: instance.id,
  });
  await deliver(ctx, instance.id, mail, 'the confirmation email');
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

/**
 * The writes that keep `mail` in the outbox with its timeline event, to commit
 * in the transaction of the step the mail tells of; null when the mail leaves
 * over SMTP, which happens with `deliver` once the step is committed.
 */
export function outboxWrites(ctx: RaContext, instanceId: string, mail: OutgoingMail, what: string, at: Date): CompiledQuery[] | null {
  const insert = ctx.mailer().outboxInsert(mail);
  return insert ? [insert, eventInsert(ctx.db, sentEvent(instanceId, mail, what, 'outbox', at))] : null;
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
