import type { Outbox } from '../notify/mailer.js';
import type { Clock } from '../clock.js';
import type { Db } from './database.js';
import { newId } from './ids.js';
import { insertRows } from './prepared.js';

/** Keeps mail in the database when no SMTP server is configured; admins read it in the outbox. */
export function databaseOutbox(db: Db, clock: Clock): Outbox {
  const insert: Outbox['insert'] = (mail) =>
    insertRows(db, 'outbox', { id: newId('mail'), sender: mail.from, recipient: mail.to, subject: mail.subject, text: mail.text, html: mail.html ?? null, created_at: clock.now().toISOString() });
  return {
    insert,
    async keep(mail) {
      await db.executeQuery(insert(mail));
    },
  };
}
