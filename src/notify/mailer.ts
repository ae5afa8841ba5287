import { isIP } from 'node:net';
import type { CompiledQuery } from 'kysely';
import type { Transporter } from 'nodemailer';
import { CertdeskError } from '../errors.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Where mail goes when no SMTP server is configured (a table the console and tests can read). */
export interface Outbox {
  keep(mail: OutgoingMail & { from: string }): Promise<void>;
  /** The insert that keeps `mail`, unsent. */
  insert(mail: OutgoingMail & { from: string }): CompiledQuery;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ delivered: 'smtp' | 'outbox'; messageId?: string }>;
  /**
   * Without an SMTP server a mail is a row in the outbox: this is its insert,
   * unsent, so that the step the mail tells of commits it with its own writes
   * (the mail exists exactly when the step happened). Null when mail leaves over SMTP.
   */
  outboxInsert(mail: OutgoingMail): CompiledQuery | null;
}

export interface MailerOptions {
  /** smtp://user:pass@host:port (STARTTLS when offered) or smtps://... (TLS from the start); none keeps mail in the outbox. */
  smtpUrl?: string;
  from: string;
  outbox: Outbox;
  logger?: { warn(obj: object, msg: string): void };
}

export function createMailer(options: MailerOptions): Mailer {
  const { from, outbox, logger } = options;
  if (!options.smtpUrl) {
    return {
      async send(mail) {
        await outbox.keep({ ...mail, from });
        return { delivered: 'outbox' };
      },
      outboxInsert: (mail) => outbox.insert({ ...mail, from }),
    };
  }
  const server = smtpServer(options.smtpUrl);
  // nodemailer is loaded with the first mail: most installs keep mail in the outbox, and start time counts.
  let transport: Promise<Transporter> | undefined;
  const connect = async (): Promise<Transporter> => (await import('nodemailer')).default.createTransport({
    host: server.host,
    port: server.port,
    secure: server.secure,
    auth: server.auth,
    // A loopback server is a local relay or a test sink with a self-signed certificate; anywhere else the certificate must verify.
    tls: server.loopback ? { rejectUnauthorized: false } : undefined,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
  return {
    async send(mail) {
      try {
        transport ??= connect();
        const info = await (await transport).sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
        return { delivered: 'smtp', messageId: info.messageId };
      } catch (error) {
        const reason = smtpFailureReason(error);
        logger?.warn({ to: mail.to, subject: mail.subject, server: server.display, reason }, 'mail delivery failed');
        throw new CertdeskError('MAIL_DELIVERY_FAILED', `The mail server ${server.display} did not accept the mail to ${mail.to}: ${reason}`, {
          status: 502,
        });
      }
    },
    outboxInsert: () => null,
  };
}

interface SmtpServer {
  host: string;
  port: number | undefined;
  secure: boolean;
  auth: { user: string; pass: string } | undefined;
  loopback: boolean;
  /** host:port without the credentials, for messages and logs. */
  display: string;
}

function smtpServer(smtpUrl: string): SmtpServer {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw invalidUrl('it is not a URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw invalidUrl(`the scheme must be smtp or smtps, not ${url.protocol}`);
  if (!url.hostname) throw invalidUrl('it names no host');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: url.port ? Number(url.port) : undefined,
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    loopback: isLoopback(host),
    display: url.host,
  };
}

function invalidUrl(why: string): CertdeskError {
  return new CertdeskError('MAIL_CONFIG_INVALID', `The SMTP URL is invalid (${why}); use smtp://user:pass@host:port or smtps://user:pass@host:port.`, {
    status: 500,
    field: 'smtpUrl',
  });
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The server's own reply when there is one (e.g. "550 5.1.1 user unknown"), else what went wrong on the way. */
function smtpFailureReason(error: unknown): string {
  if (error && typeof error === 'object') {
    const { response, code, message } = error as { response?: unknown; code?: unknown; message?: unknown };
    if (typeof response === 'string' && response) return response;
    if (typeof message === 'string' && message) return typeof code === 'string' ? `${message} (${code})` : message;
  }
  return String(error);
}
