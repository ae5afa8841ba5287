/**
 * OV and EV through the REST API and the reviewer desk: the confirmation mail
 * arrives at a real SMTP server, a reviewer rejects, the subscriber fixes and
 * resubmits, and EV needs two different reviewers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectError, expectOk, grant, organization, tinyPng, uploadDocument } from '../support/flows.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp_sink.js';

/** Waits for the mail to `to` whose body holds a confirmation link, and returns the token. */
/** The confirmation mails `to` has received so far. */
function confirmationMails(sink: SmtpSink, to: string) {
  return sink.received.filter((m) => m.to.includes(to) && /confirm-email\?token=/.test(m.text));
}

async function confirmationToken(sink: SmtpSink, to: string, skip: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const mails = confirmationMails(sink, to);
    const mail = mails[skip];
    if (mail) {
      const m = /confirm-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
      assert.ok(m?.[1]);
      return m[1];
    }
    await sleep(50);
  }
  throw new Error(`no confirmation mail #${skip + 1} arrived for ${to}`);
}

async function proveDomains(dns: Bind9Server, client: ApiClient, id: string, detail: any): Promise<void> {
  for (const v of detail.validation) await dns.addRecord(v.dns.name, 'TXT', v.dns.value);
  await expectOk(client.post(`/api/v1/instances/${id}/verify`));
}

for (const backend of await backends()) {
  describe(`OV/EV review over REST (${backend})`, () => {
    let dns: Bind9Server;
    let smtp: SmtpSink;
    let service: CertdeskProcess;
    let admin: ApiClient;
    let bob: ApiClient;
    let reviewer1: ApiClient;
    let reviewer2: ApiClient;

    before(async () => {
      dns = await startBind9({ zones: ['example.com', 'example.net'] });
      smtp = await startSmtpSink();
      service = await startCertdesk({ backend, resolvers: [dns.address], smtpUrl: `smtp://127.0.0.1:${smtp.port}` });
      admin = await service.user('ops@example.com', 'admin');
      bob = await service.user('bob@example.com', 'subscriber');
      reviewer1 = await service.user('rita@ca.example', 'reviewer');
      reviewer2 = await service.user('ron@ca.example', 'reviewer');
    });

    after(async () => {
      await service?.stop();
      await smtp?.close();
      await dns?.stop();
    });

    test('OV: confirmation mail, rejection with a reason, fix and resubmit, approval, issuance', async () => {
      const id = await grant(admin, 'bob@example.com', 'ov', 'single');
      await expectError(bob.put(`/api/v1/instances/${id}/application`, { domains: ['www.example.com'], csr: { mode: 'auto' }, contact }), 400, 'ORGANIZATION_REQUIRED');
      await expectOk(bob.put(`/api/v1/instances/${id}/application`, { domains: ['www.example.com'], csr: { mode: 'auto' }, contact, organization: { ...organization, registrationNumber: 'WRONG-123' } }));
      await expectError(bob.post(`/api/v1/instances/${id}/submit`), 409, 'DOCUMENTS_REQUIRED');
      await expectOk(uploadDocument(bob, id, tinyPng, 'license.png'), 201);
      const submitted = await expectOk(bob.post(`/api/v1/instances/${id}/submit`));
      assert.equal(submitted.status, 'under_review');
      const days = (Date.parse(submitted.expectedIssueDate.latest) - Date.parse(submitted.submittedAt)) / 86400_000;
      assert.ok(days >= 7 && days <= 11, `7 business days ahead, got ${days} days`);

      const token1 = await confirmationToken(smtp, contact.email, 0);
      await expectOk(service.anonymous().post('/api/v1/confirmations', { token: token1 }));
      await proveDomains(dns, bob, id, submitted);

      const queue = await expectOk(reviewer1.get('/api/v1/reviews'));
      const item = queue.items.find((i: any) => i.instanceId === id);
      assert.ok(item, 'the application is in the review queue');
      assert.equal(item.emailConfirmed, true);
      assert.equal(item.domainsVerified, true);
      assert.equal(item.organization, organization.name);
      const detail = await expectOk(reviewer1.get(`/api/v1/reviews/${id}`));
      assert.equal(detail.application.organization.registrationNumber, 'WRONG-123');
      assert.equal(detail.documents.length, 1);
      const doc = await reviewer1.call('GET', `/api/v1/reviews/${id}/documents/${detail.documents[0].id}`);
      assert.equal(doc.headers.get('content-type'), 'image/png');
      assert.deepEqual(doc.bytes, tinyPng);

      await expectOk(reviewer1.post(`/api/v1/reviews/${id}/phone`, { result: 'reached', note: 'spoke to Bob' }));
      await expectError(reviewer1.post(`/api/v1/reviews/${id}/reject`, { reason: '' }), 400, 'REASON_REQUIRED');
      assert.match((await expectError(reviewer1.post(`/api/v1/reviews/${id}/reject`, { reason: 'x' }), 400, 'REASON_REQUIRED')).message, /at least 3 characters/);
      const tooLong = await expectError(reviewer1.post(`/api/v1/reviews/${id}/reject`, { reason: 'y'.repeat(2001) }), 400, 'REASON_TOO_LONG');
      assert.match(tooLong.message, /2001 characters; keep it to at most 2000/, 'a long reason is refused, not cut short unseen');
      await expectOk(reviewer1.post(`/api/v1/reviews/${id}/reject`, { reason: 'The registration number does not match the business license.' }));
      const failed = await expectOk(bob.get(`/api/v1/instances/${id}`));
      assert.equal(failed.status, 'validation_failed');
      assert.equal(failed.failureReason, 'The registration number does not match the business license.');
      assert.ok(smtp.received.some((m) => m.to.includes(contact.email) && /registration number does not match/.test(m.text)), 'the rejection reaches the applicant by mail');

      await expectOk(bob.put(`/api/v1/instances/${id}/application`, { domains: ['www.example.com'], csr: { mode: 'auto' }, contact, organization }));
      const resubmitted = await expectOk(bob.post(`/api/v1/instances/${id}/submit`));
      assert.equal(resubmitted.status, 'under_review');
      assert.equal(resubmitted.validation[0].status, 'valid', 'domain proof is kept across the resubmission');
      const token2 = await confirmationToken(smtp, contact.email, 1);
      await expectError(service.anonymous().post('/api/v1/confirmations', { token: token1 }), 404, 'CONFIRMATION_INVALID');
      await expectOk(service.anonymous().post('/api/v1/confirmations', { token: token2 }));

      const approved = await expectOk(reviewer2.post(`/api/v1/reviews/${id}/approve`));
      assert.equal(approved.issued, true);
      const issued = await expectOk(bob.get(`/api/v1/instances/${id}`));
      assert.equal(issued.status, 'issued');
      assert.match(issued.certificate.pem, /BEGIN CERTIFICATE/);
      const events = (await expectOk(bob.get(`/api/v1/instances/${id}/progress`))).events.map((e: any) => e.type);
      for (const step of ['document_uploaded', 'submitted', 'mail_sent', 'email_confirmed', 'phone_verified', 'review_rejected', 'validation_failed', 'review_approved', 'issued']) {
        assert.ok(events.includes(step), `${step} in ${events}`);
      }

      // Within the term the reviewed organization and the proven domain are reused: a reissue needs no second review.
      const reissued = await expectOk(bob.post(`/api/v1/instances/${id}/reissue`, {}));
      assert.equal(reissued.status, 'issued');
      assert.notEqual(reissued.certificate.serial, issued.certificate.serial);
      assert.match(reissued.certificate.pem, /BEGIN CERTIFICATE/);

      // An organization reviewed more than 825 days ago is reviewed again, with a new confirmation email.
      await service.sql('UPDATE reviews SET created_at = ? WHERE instance_id = ?', [new Date(Date.now() - 900 * 86400_000).toISOString(), id]);
      const mailsBefore = confirmationMails(smtp, contact.email).length;
      const rereviewed = await expectOk(bob.post(`/api/v1/instances/${id}/reissue`, {}));
      assert.equal(rereviewed.status, 'under_review');
      assert.equal(rereviewed.certificate.serial, reissued.certificate.serial, 'the instance keeps its certificate meanwhile');
      assert.deepEqual([rereviewed.review.emailConfirmed, rereviewed.review.approvals.length], [false, 0]);
      assert.ok((await expectOk(reviewer1.get('/api/v1/reviews'))).items.some((i: any) => i.instanceId === id), 'back in the review queue');
      assert.ok(await confirmationToken(smtp, contact.email, mailsBefore), 'a new confirmation email');
    });

    test('EV: two different reviewers; nobody approves twice or their own application', async () => {
      const id = await grant(admin, 'bob@example.com', 'ev', 'single');
      await expectOk(bob.put(`/api/v1/instances/${id}/application`, { domains: ['secure.example.net'], csr: { mode: 'auto', keyAlgorithm: 'ecdsa-p384' }, contact, organization }));
      await expectOk(uploadDocument(bob, id, tinyPng, 'license.png'), 201);
      const mailsBefore = confirmationMails(smtp, contact.email).length;
      const submitted = await expectOk(bob.post(`/api/v1/instances/${id}/submit`));
      const progress = await expectOk(bob.get(`/api/v1/instances/${id}/progress`));
      assert.match(progress.events.find((e: any) => e.type === 'submitted').message, /prove control of each domain with the DNS record or the file shown/);
      assert.ok(smtp.received.some((m) => m.to.includes(contact.email) && /issued only once control of each domain is proven/.test(m.text)), 'the confirmation mail says the domains must be proven too');

      await expectError(bob.post(`/api/v1/reviews/${id}/approve`), 403, 'FORBIDDEN');
      const first = await expectOk(reviewer1.post(`/api/v1/reviews/${id}/approve`));
      assert.deepEqual([first.approvals, first.approvalsRequired, first.issued], [1, 2, false]);
      assert.deepEqual(first.waitingFor, [
        '1 more approval from a different reviewer',
        "the applicant's confirmation of the CA's email",
        'proof of control of secure.example.net (the DNS TXT record or the validation file)',
      ]);
      await expectError(reviewer1.post(`/api/v1/reviews/${id}/approve`), 409, 'SAME_REVIEWER');
      await expectOk(service.anonymous().post('/api/v1/confirmations', { token: await confirmationToken(smtp, contact.email, mailsBefore) }));
      await proveDomains(dns, bob, id, submitted);
      const detail = await expectOk(reviewer2.get(`/api/v1/reviews/${id}`));
      assert.equal(detail.approvals[0].reviewer, 'rita@ca.example');
      const second = await expectOk(reviewer2.post(`/api/v1/reviews/${id}/approve`));
      assert.equal(second.issued, true);
      assert.deepEqual(second.waitingFor, []);
      const issued = await expectOk(bob.get(`/api/v1/instances/${id}`));
      assert.equal(issued.status, 'issued');
      assert.equal(issued.certificate.keyAlgorithm, 'ECDSA P-384');
    });

    test('OV: a second approval is refused as not needed, saying what the issuance waits for', async () => {
      const id = await grant(admin, 'bob@example.com', 'ov', 'single');
      await expectOk(bob.put(`/api/v1/instances/${id}/application`, { domains: ['wait.example.com'], csr: { mode: 'auto' }, contact, organization }));
      await expectOk(uploadDocument(bob, id, tinyPng, 'license.png'), 201);
      await expectOk(bob.post(`/api/v1/instances/${id}/submit`));
      const approved = await expectOk(reviewer1.post(`/api/v1/reviews/${id}/approve`));
      assert.deepEqual([approved.approvals, approved.approvalsRequired, approved.issued], [1, 1, false]);
      for (const reviewer of [reviewer1, reviewer2]) {
        const again = await expectError(reviewer.post(`/api/v1/reviews/${id}/approve`), 409, 'ALREADY_APPROVED');
        assert.match(again.message, /every approval it needs \(1 of 1\); the certificate is issued once these are in: the applicant's confirmation of the CA's email; proof of control of wait\.example\.com/);
      }
    });

    test('a reviewer cannot approve an application they own', async () => {
      const selfReviewer = await service.user('sam@ca.example', 'reviewer');
      const id = await grant(admin, 'sam@ca.example', 'ov', 'single');
      await expectOk(selfReviewer.put(`/api/v1/instances/${id}/application`, { domains: ['sam.example.com'], csr: { mode: 'auto' }, contact, organization }));
      await expectOk(uploadDocument(selfReviewer, id, tinyPng, 'license.png'), 201);
      await expectOk(selfReviewer.post(`/api/v1/instances/${id}/submit`));
      const err = await expectError(selfReviewer.post(`/api/v1/reviews/${id}/approve`), 403, 'FORBIDDEN');
      assert.match(err.message, /own application/);
    });

    test('combined OV instances bind a wildcard and plain names in one certificate', async () => {
      const wildcard = await grant(admin, 'bob@example.com', 'ov', 'wildcard');
      const multi = await grant(admin, 'bob@example.com', 'ov', 'multi', 2);
      const combined = await expectOk(bob.post('/api/v1/instances/combine', { instanceIds: [wildcard, multi] }));
      assert.deepEqual(combined.quota, { wildcard: 1, plain: 2 });
      assert.deepEqual(combined.combinedFrom, [multi]);
      const listed = (await expectOk(bob.get('/api/v1/instances?status=pending_application&pageSize=100'))).items;
      const target = listed.find((i: any) => i.id === wildcard);
      assert.deepEqual([target.quota, target.combinedFrom], [{ wildcard: 1, plain: 2 }, [multi]], 'the list shows what the combined instance binds');
      assert.ok(!listed.some((i: any) => i.id === multi), 'the part is listed only through the instance it joined');
      await expectError(bob.put(`/api/v1/instances/${wildcard}/application`, { domains: ['*.example.com', 'example.com', 'www.example.net', 'x.example.net'], csr: { mode: 'auto' }, contact, organization }), 400, 'TOO_MANY_DOMAINS');
      await expectOk(bob.put(`/api/v1/instances/${wildcard}/application`, { domains: ['*.example.com', 'example.com', 'www.example.net'], csr: { mode: 'auto' }, contact, organization }));
      await expectError(bob.put(`/api/v1/instances/${multi}/application`, { domains: ['a.example.com'], csr: { mode: 'auto' }, contact, organization }), 409, 'INSTANCE_COMBINED');
      await expectOk(uploadDocument(bob, wildcard, tinyPng, 'license.png'), 201);
      const submitted = await expectOk(bob.post(`/api/v1/instances/${wildcard}/submit`));
      const wildcardProof = submitted.validation.find((v: any) => v.domain === '*.example.com');
      assert.equal(wildcardProof.file, null, 'a wildcard is proven by DNS only');
      const mails = confirmationMails(smtp, contact.email).length;
      await expectOk(service.anonymous().post('/api/v1/confirmations', { token: await confirmationToken(smtp, contact.email, mails - 1) }));
      await proveDomains(dns, bob, wildcard, submitted);
      await expectOk(reviewer1.post(`/api/v1/reviews/${wildcard}/approve`));
      const issued = await expectOk(bob.get(`/api/v1/instances/${wildcard}`));
      assert.equal(issued.status, 'issued');
      assert.deepEqual([...issued.certificate.names].sort(), ['*.example.com', 'example.com', 'www.example.net']);
    });
  });
}
