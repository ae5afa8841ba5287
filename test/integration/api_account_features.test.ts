/**
 * The rest of the REST surface against a real `certdesk serve`: the OpenAPI
 * document, sign-in, profiles reused across applications, the authorization
 * letter, the outbox when no SMTP server is set, settings, role changes,
 * self-service purchase and pagination.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../support/daemon.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectError, expectOk, grant, organization, run, tinyPng, uploadDocument } from '../support/flows.js';
import { startSmtpSink } from '../support/smtp_sink.js';
import { requireTool } from '../support/tools.js';

for (const backend of await backends()) {
  describe(`REST accounts, profiles, mail and settings (${backend})`, () => {
    let service: CertdeskProcess;
    let admin: ApiClient;
    let carol: ApiClient;

    before(async () => {
      service = await startCertdesk({ backend });
      admin = await service.user('ops@example.com', 'admin');
      carol = await service.user('carol@example.com', 'subscriber');
    });

    after(async () => {
      await service?.stop();
    });

    test('the OpenAPI document describes the workflow', async () => {
      const doc = await expectOk(service.anonymous().get('/api/v1/openapi.json'));
      assert.equal(doc.openapi, '3.1.0');
      for (const p of ['/api/v1/instances', '/api/v1/instances/{id}/application', '/api/v1/instances/{id}/submit', '/api/v1/instances/{id}/verify', '/api/v1/instances/{id}/withdraw', '/api/v1/instances/{id}/progress', '/api/v1/instances/{id}/download', '/api/v1/reviews', '/api/v1/reviews/{id}/approve', '/api/v1/reviews/{id}/reject', '/api/v1/certificates/{id}/revoke']) {
        assert.ok(doc.paths[p], `${p} is documented`);
      }
      assert.ok(doc.paths['/api/v1/instances/{id}/application'].put.requestBody, 'request bodies are described');
    });

    test('the detail a purchase returns is the detail the instance then shows', async () => {
      for (const product of ['dv', 'ov', 'ev'] as const) {
        const created = await admin.post('/api/v1/instances', { owner: 'carol@example.com', product, domainType: 'multi', domainCount: 3 });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.deepEqual(await expectOk(carol.get(`/api/v1/instances/${created.body.id}`)), created.body, product);
      }
    });

    test('the first-start admin signs in with the printed password; wrong passwords are refused', async () => {
      const m = /log in:\s+(\S+) \/ (\S+)/.exec(service.output());
      assert.ok(m, service.output());
      const login = await expectOk(service.anonymous().post('/api/v1/auth/token', { email: m[1], password: m[2] }));
      assert.equal(login.user.role, 'admin');
      const me = await expectOk(new (carol.constructor as typeof ApiClient)(service.url, login.token).get('/api/v1/me'));
      assert.equal(me.email, 'admin@certdesk.local');
      await expectError(service.anonymous().post('/api/v1/auth/token', { email: m[1], password: 'wrong-password' }), 401, 'LOGIN_FAILED');
    });

    test('password guessing is cut off per email after ten attempts a minute, on both sign-in routes', async () => {
      const password = 'the-right-password';
      await expectOk(admin.post('/api/v1/users', { email: 'gus@example.com', role: 'subscriber', password }), 201);
      for (let i = 0; i < 10; i++) {
        const route = i % 2 === 0 ? '/api/v1/auth/token' : '/api/v1/auth/session';
        await expectError(service.anonymous().post(route, { email: 'gus@example.com', password: `guess-number-${i}` }), 401, 'LOGIN_FAILED');
      }
      // Even the right password waits now, so guessing it gains nothing.
      const limited = await service.anonymous().post('/api/v1/auth/token', { email: 'Gus@Example.com ', password });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'SIGN_IN_RATE_LIMITED');
      assert.match(limited.body.error.message, /wait \d+ seconds/);
      assert.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After says when to come back');
      await expectError(service.anonymous().post('/api/v1/auth/session', { email: 'gus@example.com', password }), 429, 'SIGN_IN_RATE_LIMITED');
      // Another user behind the same address is not locked out.
      await expectOk(admin.post('/api/v1/users', { email: 'hal@example.com', role: 'subscriber', password }), 201);
      assert.equal((await expectOk(service.anonymous().post('/api/v1/auth/token', { email: 'hal@example.com', password }))).user.email, 'hal@example.com');
    });

    test('contact and organization profiles are saved with an application and reused by the next', async () => {
      const first = await grant(admin, 'carol@example.com', 'ov', 'single');
      await expectOk(carol.put(`/api/v1/instances/${first}/application`, { domains: ['www.example.com'], csr: { mode: 'auto' }, contact, organization, saveContactAs: 'Carol', saveOrganizationAs: 'Example Trading' }));
      const contacts = (await expectOk(carol.get('/api/v1/profiles?kind=contact'))).items;
      const orgs = (await expectOk(carol.get('/api/v1/profiles?kind=organization'))).items;
      assert.equal(contacts.length, 1);
      assert.equal(orgs[0].data.registrationNumber, organization.registrationNumber);
      const second = await grant(admin, 'carol@example.com', 'ov', 'single');
      const saved = await expectOk(carol.put(`/api/v1/instances/${second}/application`, { domains: ['shop.example.com'], csr: { mode: 'auto' }, contactProfileId: contacts[0].id, organizationProfileId: orgs[0].id }));
      assert.deepEqual(saved.contact, contact);
      assert.equal(saved.organization.name, organization.name);
      await expectError(admin.put(`/api/v1/instances/${second}/application`, { domains: ['shop.example.com'], csr: { mode: 'auto' }, contactProfileId: contacts[0].id, organization }), 404, 'NOT_FOUND');
    });

    test('the authorization letter is a PDF pre-filled with the application', async (t) => {
      if (!requireTool(t, 'pdftotext')) return;
      const id = await grant(admin, 'carol@example.com', 'ov', 'single');
      await expectOk(carol.put(`/api/v1/instances/${id}/application`, { domains: ['letter.example.com'], csr: { mode: 'auto' }, contact, organization }));
      const res = await carol.call('GET', `/api/v1/instances/${id}/authorization-letter`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pdf');
      const file = path.join(makeTempDir('letter'), 'letter.pdf');
      writeFileSync(file, res.bytes);
      const { stdout } = await run('pdftotext', [file, '-']);
      assert.match(stdout, /letter\.example\.com/);
      assert.match(stdout, /Example Trading Co/);
      assert.match(stdout, /Alice Zhang/);
    });

    test('without SMTP the confirmation mail waits in the outbox for admins', async () => {
      const id = await grant(admin, 'carol@example.com', 'ov', 'single');
      await expectOk(carol.put(`/api/v1/instances/${id}/application`, { domains: ['mail.example.com'], csr: { mode: 'auto' }, contact, organization }));
      await expectOk(uploadDocument(carol, id, tinyPng, 'license.png'), 201);
      await expectOk(carol.post(`/api/v1/instances/${id}/submit`));
      const outbox = (await expectOk(admin.get('/api/v1/outbox'))).items;
      const mail = outbox.find((m: any) => m.to === contact.email && m.text.includes(id));
      assert.ok(mail, 'the confirmation mail is in the outbox');
      const token = /confirm-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
      assert.ok(token);
      const page = await service.anonymous().get(`/confirm-email?token=${token}`);
      assert.match(page.body, /Confirm your certificate application/);
      assert.equal((await expectOk(carol.get(`/api/v1/instances/${id}`))).review.emailConfirmed, false, 'opening the link alone does not confirm');
      await expectOk(service.anonymous().post('/api/v1/confirmations', { token }));
      const detail = await expectOk(carol.get(`/api/v1/instances/${id}`));
      assert.equal(detail.review.emailConfirmed, true);
      const progress = (await expectOk(carol.get(`/api/v1/instances/${id}/progress`))).events;
      assert.ok(progress.some((e: any) => e.type === 'mail_sent' && /outbox/.test(e.message)));
    });

    test('settings: admins change resolvers and self-service purchase; subscribers then buy for themselves', async () => {
      await expectError(carol.post('/api/v1/instances', { product: 'dv', domainType: 'single' }), 403, 'FORBIDDEN');
      const changed = await expectOk(admin.put('/api/v1/settings', { selfServicePurchase: true, dnsResolvers: ['127.0.0.1:5353'] }));
      assert.equal(changed.selfServicePurchase, true);
      assert.deepEqual((await expectOk(admin.get('/api/v1/settings'))).dnsResolvers, ['127.0.0.1:5353']);
      const own = await expectOk(carol.post('/api/v1/instances', { product: 'dv', domainType: 'wildcard' }), 201);
      assert.equal(own.owner, 'carol@example.com');
      await expectError(carol.post('/api/v1/instances', { owner: 'ops@example.com', product: 'dv', domainType: 'single' }), 403, 'FORBIDDEN');
      await expectOk(admin.put('/api/v1/settings', { selfServicePurchase: false }));
    });

    test('settings show the SMTP password masked; the masked URL sent back keeps the password the mail then logs in with', async () => {
      const sink = await startSmtpSink({ user: 'certdesk', pass: 's3cret' });
      try {
        const masked = `smtp://certdesk:********@127.0.0.1:${sink.port}`;
        assert.equal((await expectOk(admin.put('/api/v1/settings', { smtpUrl: `smtp://certdesk:s3cret@127.0.0.1:${sink.port}` }))).smtpUrl, masked);
        const shown = await admin.get('/api/v1/settings');
        assert.equal(shown.body.smtpUrl, masked);
        assert.doesNotMatch(shown.bytes.toString('utf8'), /s3cret/);
        // The console saves the whole form as shown, here with another field changed.
        assert.equal((await expectOk(admin.put('/api/v1/settings', { smtpUrl: masked, mailFrom: 'certdesk <ca@example.com>' }))).smtpUrl, masked);
        const id = await grant(admin, 'carol@example.com', 'ov', 'single');
        await expectOk(carol.put(`/api/v1/instances/${id}/application`, { domains: ['smtp.example.com'], csr: { mode: 'auto' }, contact, organization }));
        await expectOk(uploadDocument(carol, id, tinyPng, 'license.png'), 201);
        await expectOk(carol.post(`/api/v1/instances/${id}/submit`));
        const deadline = Date.now() + 10_000;
        while (!sink.received.some((m) => m.text.includes(id)) && Date.now() < deadline) await sleep(50);
        assert.ok(sink.received.some((m) => m.to.includes(contact.email) && m.text.includes(id)), 'the confirmation mail reached the server that takes only the stored password');
      } finally {
        await expectOk(admin.put('/api/v1/settings', { smtpUrl: '', mailFrom: 'certdesk <no-reply@certdesk.local>' }));
        await sink.close();
      }
    });

    test("a role an admin changes applies to the user's very next request", async () => {
      const erin = await service.user('erin@example.com', 'subscriber');
      await expectError(erin.get('/api/v1/reviews'), 403, 'FORBIDDEN');
      const users = await expectOk(admin.get('/api/v1/users'));
      const id = users.items.find((u: { email: string }) => u.email === 'erin@example.com').id as string;
      await expectOk(admin.put(`/api/v1/users/${id}/role`, { role: 'reviewer' }));
      assert.ok(Array.isArray((await expectOk(erin.get('/api/v1/reviews'))).items), 'the reviewer sees the review queue');
      await expectOk(admin.put(`/api/v1/users/${id}/role`, { role: 'subscriber' }));
      await expectError(erin.get('/api/v1/reviews'), 403, 'FORBIDDEN');
    });

    test('lists are filtered by status and domain and paginated', async () => {
      const dave = await service.user('dave@example.com', 'subscriber');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await grant(admin, 'dave@example.com', 'dv', 'single'));
      await expectOk(dave.put(`/api/v1/instances/${ids[0]}/application`, { domains: ['findme.example.net'], csr: { mode: 'auto' }, contact }));
      const page1 = await expectOk(dave.get('/api/v1/instances?status=pending_application&page=1&pageSize=2'));
      const page3 = await expectOk(dave.get('/api/v1/instances?status=pending_application&page=3&pageSize=2'));
      assert.equal(page1.total, 5);
      assert.equal(page1.items.length, 2);
      assert.equal(page3.items.length, 1);
      const all = new Set([...page1.items, ...(await expectOk(dave.get('/api/v1/instances?status=pending_application&page=2&pageSize=2'))).items, ...page3.items].map((i: any) => i.id));
      assert.equal(all.size, 5, 'pages do not overlap');
      const found = await expectOk(dave.get('/api/v1/instances?domain=findme'));
      assert.deepEqual(found.items.map((i: any) => i.id), [ids[0]]);
      assert.equal((await expectOk(dave.get('/api/v1/instances?status=issued'))).total, 0);
    });
  });
}
