import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { CompiledQuery } from 'kysely';
import { createMailer, type Outbox, type OutgoingMail } from '../../src/notify/mailer.js';
import { confirmationMail } from '../../src/notify/templates.js';
import { CertdeskError } from '../../src/errors.js';

/** An outbox that records what it is asked to keep; its insert names the recipient. */
function recordingOutbox(kept: (OutgoingMail & { from: string })[]): Outbox {
  return { keep: async (m) => void kept.push(m), insert: (m) => CompiledQuery.raw('insert into outbox (recipient) values ($1)', [m.to]) };
}

/** An outbox an SMTP mailer must never fall back to. */
const unusedOutbox: Outbox = {
  keep: async () => assert.fail('must not fall back to the outbox'),
  insert: () => assert.fail('must not fall back to the outbox'),
};

interface Received {
  from: string;
  to: string[];
  secure: boolean;
  user: string | undefined;
  raw: string;
}

/** An SMTP sink on 127.0.0.1 (the real smtp-server, STARTTLS with its self-signed certificate) that records what it gets. */
async function startSink(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nobody@')) {
        const error = Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 });
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Reads a header (unfolded) and the decoded quoted-printable text of a raw message. */
function header(raw: string, name: string): string | undefined {
  const headers = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}: (.*)$`, 'im').exec(headers)?.[1];
}

function decodedBody(raw: string): string {
  return raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const confirmUrl = 'https://certdesk.example/confirm?instance=inst_42&token=Zm9vYmFyYmF6';
const mail = confirmationMail({
  applicantName: 'Ada Lovelace',
  to: 'ada@example.org',
  domains: ['www.example.org', 'example.org'],
  product: 'ov',
  confirmUrl,
  instanceId: 'inst_42',
});

describe('createMailer over SMTP', () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  before(async () => {
    sink = await startSink();
  });
  after(async () => {
    await sink.close();
  });

  test('delivers the confirmation mail to the SMTP server, upgrading to TLS on loopback', async () => {
    const mailer = createMailer({
      smtpUrl: `smtp://certdesk:s3cret@127.0.0.1:${sink.port}`,
      from: 'certdesk <noreply@certdesk.example>',
      outbox: unusedOutbox,
    });
    assert.equal(mailer.outboxInsert(mail), null, 'mail over SMTP is not written with the step that sends it');
    const result = await mailer.send(mail);
    assert.equal(result.delivered, 'smtp');
    assert.ok(result.messageId);

    assert.equal(sink.received.length, 1);
    const got = sink.received[0]!;
    assert.deepEqual(got.to, ['ada@example.org']);
    assert.equal(got.from, 'noreply@certdesk.example');
    assert.equal(got.secure, true, 'STARTTLS was used despite the self-signed certificate of the local server');
    assert.equal(got.user, 'certdesk');
    assert.equal(header(got.raw, 'Subject'), mail.subject);
    assert.match(mail.subject, /www\.example\.org/);
    assert.equal(header(got.raw, 'Message-ID'), result.messageId);
    const body = decodedBody(got.raw);
    assert.ok(body.includes(confirmUrl), 'the confirm URL is in the delivered body');
    assert.ok(body.includes(`href="${confirmUrl.replace(/&/g, '&#38;')}"`), 'the HTML part links to the confirm URL');
  });

  test('a recipient the server refuses fails with MAIL_DELIVERY_FAILED and the server reason', async () => {
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${sink.port}`,
      from: 'noreply@certdesk.example',
      outbox: unusedOutbox,
    });
    await assert.rejects(mailer.send({ ...mail, to: 'nobody@example.org' }), (error: unknown) => {
      assert.ok(error instanceof CertdeskError);
      assert.equal(error.code, 'MAIL_DELIVERY_FAILED');
      assert.equal(error.status, 502);
      assert.match(error.message, /550 5\.1\.1 mailbox unavailable/);
      return true;
    });
  });
});

test('without an SMTP URL the mail is kept in the outbox with the sender', async () => {
  const outbox: (OutgoingMail & { from: string })[] = [];
  const mailer = createMailer({ from: 'noreply@certdesk.example', outbox: recordingOutbox(outbox) });
  assert.deepEqual(mailer.outboxInsert(mail)?.parameters, ['ada@example.org'], 'the step that sends the mail can write it with its own statements');
  const result = await mailer.send(mail);
  assert.deepEqual(result, { delivered: 'outbox' });
  assert.equal(outbox.length, 1);
  assert.equal(outbox[0]!.from, 'noreply@certdesk.example');
  assert.equal(outbox[0]!.to, 'ada@example.org');
  assert.ok(outbox[0]!.text.includes(confirmUrl));
});

test('an SMTP server that is not listening fails with MAIL_DELIVERY_FAILED (502)', async () => {
  const port = await closedPort();
  const mailer = createMailer({
    smtpUrl: `smtp://127.0.0.1:${port}`,
    from: 'noreply@certdesk.example',
    outbox: unusedOutbox,
  });
  await assert.rejects(mailer.send(mail), (error: unknown) => {
    assert.ok(error instanceof CertdeskError);
    assert.equal(error.code, 'MAIL_DELIVERY_FAILED');
    assert.equal(error.status, 502);
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
});
