/**
 * The ACME endpoint of a real `certdesk serve` driven by the acme-client npm
 * package (a full order over http-01) and by hand-made JWS for the paths a
 * well-behaved client never takes; names resolve through a real bind9.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import acme from 'acme-client';
import { calculateJwkThumbprint, exportPKCS8, FlattenedSign } from 'jose';
import { createCsr } from '../../src/pki/csr.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { assertIssuedInstance, assertProblem, eabKey, RawAcmeClient, startChallengeServer, verifyWithOpenssl } from '../support/acme.js';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { expectError, expectOk, grant, run } from '../support/flows.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

for (const backend of await backends()) {
  describe(`ACME with acme-client and hand-made JWS (${backend})`, () => {
    let dns: Bind9Server;
    let service: CertdeskProcess;
    let admin: ApiClient;
    let alice: ApiClient;
    let web: Awaited<ReturnType<typeof startChallengeServer>>;
    let directoryUrl: string;
    const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-acme-client-'));

    before(async () => {
      dns = await startBind9({ zones: ['example.com', 'example.org'] });
      const httpPort = await freePort();
      web = await startChallengeServer(httpPort);
      service = await startCertdesk({ backend, resolvers: [dns.address], dcvHttpPort: httpPort });
      admin = await service.user('ops@example.com', 'admin');
      alice = await service.user('alice@example.com', 'subscriber');
      directoryUrl = `${service.url}/acme/directory`;
      for (const name of ['www.example.com', 'api.example.com', 'other.example.com']) await dns.addRecord(name, 'A', '127.0.0.1');
      await dns.addRecord('example.org', 'CAA', '0 issue "other-ca.example"');
    });

    after(async () => {
      await service?.stop();
      await web?.stop();
      await dns?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the directory announces EAB, terms and ARI; every response carries a nonce', async () => {
      const res = await fetch(directoryUrl);
      const directory = (await res.json()) as any;
      assert.equal(directory.meta.externalAccountRequired, true);
      assert.equal(directory.newAccount, `${service.url}/acme/new-account`);
      assert.equal(directory.renewalInfo, `${service.url}/acme/renewal-info`);
      assert.equal((await fetch(directory.meta.termsOfService)).status, 200);
      assert.ok(res.headers.get('replay-nonce'));
      const head = await fetch(directory.newNonce, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal((await fetch(directory.newNonce)).status, 204);
      assert.match(head.headers.get('link') ?? '', /rel="index"/);
    });

    test('an unknown ACME resource is a 404 problem document for GET and POST alike', async () => {
      for (const [method, url] of [['GET', '/acme/nothing-here'], ['POST', '/acme/nothing-here'], ['GET', `/acme/renewal-info/${'A'.repeat(300)}.${'B'.repeat(10)}`]] as const) {
        const res = await fetch(service.url + url, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/jose+json' } } : {}) });
        assert.equal(res.status, 404, `${method} ${url}`);
        assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', `${method} ${url}`);
        const problem = (await res.json()) as { type: string; detail: string };
        assert.equal(problem.type, 'urn:ietf:params:acme:error:malformed');
        assert.match(problem.detail, /start at .*\/acme\/directory/);
      }
    });

    test('a client keeps one connection across HEAD new-nonce requests (each signed request of acme-client starts with one)', async () => {
      const directory = (await (await fetch(directoryUrl)).json()) as { newNonce: string };
      let connections = 0;
      const agent = new (class extends Agent {
        override createConnection(...args: Parameters<Agent['createConnection']>) {
          connections += 1;
          return super.createConnection(...args);
        }
      })({ keepAlive: true, maxSockets: 1 });
      try {
        for (const method of ['HEAD', 'HEAD', 'GET', 'HEAD']) {
          const response = await new Promise<IncomingMessage>((resolve, reject) => request(method === 'GET' ? directoryUrl : directory.newNonce, { method, agent }, resolve).on('error', reject).end());
          response.resume();
          await once(response, 'end');
          assert.equal(response.statusCode, 200);
          if (method === 'HEAD') assert.ok(response.headers['replay-nonce']);
        }
      } finally {
        agent.destroy();
      }
      assert.equal(connections, 1, 'every request after the first HEAD reused its connection');
    });

    test('acme-client orders over http-01 with EAB; the order is an application that ends issued; a renewal order names it in replaces (ARI)', async (t) => {
      if (!requireTool(t, 'openssl')) return;
      await grant(admin, 'alice@example.com', 'dv', 'single');
      const eab = await eabKey(service, 'alice@example.com');
      const client = new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), externalAccountBinding: { kid: eab.kid, hmacKey: eab.hmac }, backoffMin: 200, backoffMax: 1000 });
      const [, csr] = await acme.crypto.createCsr({ commonName: 'www.example.com', altNames: ['www.example.com'] });
      const pem = await client.auto({
        csr,
        email: 'alice@example.com',
        termsOfServiceAgreed: true,
        skipChallengeVerification: true,
        challengePriority: ['http-01'],
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => web.set(challenge.token, keyAuthorization),
        challengeRemoveFn: async () => undefined,
      });
      const san = await verifyWithOpenssl(alice, pem, dir, pem.split(/(?<=-----END CERTIFICATE-----\n)/).slice(1).join(''));
      assert.match(san, /DNS:www\.example\.com/);
      const id = await assertIssuedInstance(alice, 'www.example.com');
      assert.equal((await alice.get(`/api/v1/instances/${id}`)).body.status, 'issued');

      // The same account orders the name again: its valid authorization serves the new order, which is ready at once.
      await grant(admin, 'alice@example.com', 'dv', 'single');
      const repeat = await client.createOrder({ identifiers: [{ type: 'dns', value: 'www.example.com' }] });
      assert.equal(repeat.status, 'ready');
      const [reused] = await client.getAuthorizations(repeat);
      assert.equal(reused?.status, 'valid');
      assert.equal(reused?.challenges.find((c) => c.type === 'http-01')?.status, 'valid');

      const certId = await ariCertId(pem);
      const info = await acmeRenewalInfo(certId);
      assert.ok(new Date(info.suggestedWindow.start) < new Date(info.suggestedWindow.end));
      assert.ok(new Date(info.suggestedWindow.start) > new Date(), 'a fresh certificate is not due for renewal yet');

      // A renewal order names the certificate it replaces (RFC 9773 §5); one order per certificate.
      await grant(admin, 'alice@example.com', 'dv', 'single');
      const renewer = await RawAcmeClient.create(directoryUrl);
      await renewer.register(await eabKey(service, 'alice@example.com'));
      const renewal = await renewer.post(renewer.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }], replaces: certId });
      assert.equal(renewal.status, 201, JSON.stringify(renewal.body));
      assert.equal(renewal.body.replaces, certId);
      const again = await renewer.post(renewer.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }], replaces: certId });
      assertProblem(again, 'alreadyReplaced', 409);
      assert.match(again.body.detail, /already being replaced/);
      // Another spelling of the same serial (a leading zero byte) names the same certificate.
      const [aki, serial] = certId.split('.') as [string, string];
      const padded = `${aki}.${Buffer.concat([Buffer.from([0]), Buffer.from(serial, 'base64url')]).toString('base64url')}`;
      assertProblem(await renewer.post(renewer.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }], replaces: padded }), 'alreadyReplaced', 409);
      const unknown = `${aki}.${Buffer.from('0badc0ffee', 'hex').toString('base64url')}`;
      assertProblem(await renewer.post(renewer.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }], replaces: unknown }), 'malformed', 400);
      assertProblem(await renewer.post(renewer.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }], replaces: 42 }), 'malformed', 400);
      const unrelated = await renewer.post(renewer.directory.newOrder, { identifiers: [{ type: 'dns', value: 'api.example.com' }], replaces: certId });
      assertProblem(unrelated, 'malformed', 400);
      assert.match(unrelated.body.detail, /shares no identifier/);
      // Another subscriber's account cannot claim alice's certificate: it is "not issued" to it.
      await service.user('bob@example.com', 'subscriber');
      await grant(admin, 'bob@example.com', 'dv', 'single');
      const stranger = await RawAcmeClient.create(directoryUrl);
      await stranger.register(await eabKey(service, 'bob@example.com'));
      const foreign = await stranger.post(stranger.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }], replaces: padded });
      assertProblem(foreign, 'malformed', 400);
      assert.match(foreign.body.detail, /no certificate/);
    });

    /** The ARI certID of a certificate, built from openssl's view of its AKI and serial (RFC 9773 §4.1). */
    async function ariCertId(pem: string): Promise<string> {
      const file = path.join(dir, 'ari.pem');
      writeFileSync(file, pem.split(/(?<=-----END CERTIFICATE-----\n)/)[0] as string);
      const aki = (await run('openssl', ['x509', '-in', file, '-noout', '-ext', 'authorityKeyIdentifier'])).stdout.split('\n')[1]?.trim().replace(/^keyid:/, '').replace(/:/g, '') ?? '';
      const serial = (await run('openssl', ['x509', '-in', file, '-noout', '-serial'])).stdout.trim().replace(/^serial=/, '');
      return `${Buffer.from(aki, 'hex').toString('base64url')}.${Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex').toString('base64url')}`;
    }

    async function acmeRenewalInfo(certId: string): Promise<any> {
      const res = await fetch(`${service.url}/acme/renewal-info/${certId}`);
      assert.equal(res.status, 200, await res.clone().text());
      assert.ok(res.headers.get('retry-after'));
      return res.json();
    }

    test('JWS rules: a replayed nonce is badNonce, a wrong url is unauthorized, a missing EAB is externalAccountRequired, a wrong MAC is unauthorized', async () => {
      const eab = await eabKey(service, 'alice@example.com');
      const client = await RawAcmeClient.create(directoryUrl);
      const newAccount = client.directory.newAccount as string;

      assertProblem(await client.post(newAccount, { termsOfServiceAgreed: true }), 'externalAccountRequired', 400);
      const wrongMac = { ...(client.eab(eab.kid, eab.hmac) as any), signature: Buffer.alloc(32, 7).toString('base64url') };
      assertProblem(await client.post(newAccount, { termsOfServiceAgreed: true, externalAccountBinding: wrongMac }), 'unauthorized', 403);
      const otherKey = Buffer.alloc(32, 1).toString('base64url');
      assertProblem(await client.post(newAccount, { termsOfServiceAgreed: true, externalAccountBinding: client.eab(eab.kid, otherKey) }), 'unauthorized', 403);
      assertProblem(await client.post(newAccount, { termsOfServiceAgreed: true, externalAccountBinding: client.eab(eab.kid, eab.hmac) }, { signedUrl: client.directory.newOrder }), 'unauthorized', 403);

      const body = await client.sign(newAccount, { termsOfServiceAgreed: true, externalAccountBinding: client.eab(eab.kid, eab.hmac) });
      const first = await client.postBody(newAccount, body);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.match(first.headers.get('location') ?? '', /\/acme\/acct\//);
      assertProblem(await client.postBody(newAccount, body), 'badNonce', 400);

      client.accountUrl = first.headers.get('location');
      assertProblem(await client.post(newAccount, { termsOfServiceAgreed: true }), 'malformed', 400);
      const forged = JSON.parse(await client.sign(client.accountUrl as string, ''));
      forged.signature = Buffer.alloc(64, 9).toString('base64url');
      assertProblem(await client.postBody(client.accountUrl as string, JSON.stringify(forged)), 'malformed', 400);
      const res = await fetch(newAccount, { method: 'POST', headers: { 'content-type': 'application/jose+json' }, body: JSON.stringify({ ...JSON.parse(body), protected: Buffer.from(JSON.stringify({ alg: 'HS256', nonce: await client.nonce(), url: newAccount, jwk: client.jwk })).toString('base64url') }) });
      assertProblem({ status: res.status, body: await res.json(), headers: res.headers }, 'badSignatureAlgorithm', 400);
    });

    /** A new subscriber with one DV single instance and an ACME account, and `name` resolving to the challenge server. */
    async function subscriberOrdering(email: string, name: string) {
      const user = await service.user(email, 'subscriber');
      const instance = await grant(admin, email, 'dv', 'single');
      await dns.addRecord(name, 'A', '127.0.0.1');
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, email));
      return { user, instance, client, newOrder: () => client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: name }] }) };
    }

    test('CAA accounturi and validationmethods (RFC 8657): another account is refused at newOrder; only the challenge types CAA allows are offered or reused; finalize asks again past 7 hours', async () => {
      const { user: frank, client, newOrder } = await subscriberOrdering('frank@example.com', 'pinned.example.com');
      const setCaa = async (value: string) => {
        await dns.removeRecords('pinned.example.com', 'CAA');
        await dns.addRecord('pinned.example.com', 'CAA', `0 issue "certdesk.local; ${value}"`);
      };
      const offeredTypes = async (order: any) => (await client.post(order.body.authorizations[0], '')).body.challenges.map((c: any) => c.type).sort();
      const finalize = async (order: any) => {
        const csr = createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['pinned.example.com']).replace(/-----[^-]+-----|\s/g, '');
        return client.post(order.body.finalize, { csr: Buffer.from(csr, 'base64').toString('base64url') });
      };

      await setCaa(`accounturi=${service.url}/acme/acct/acct_someone_else`);
      const otherAccount = await newOrder();
      assertProblem(otherAccount, 'caa', 403);
      assert.match(otherAccount.body.detail, new RegExp(`authorizes only the ACME account .*acct_someone_else, and this order comes from ${client.accountUrl}`));

      await setCaa(`accounturi=${client.accountUrl}; validationmethods=dns-01`);
      const dnsOnly = await newOrder();
      assert.equal(dnsOnly.status, 201, JSON.stringify(dnsOnly.body));
      assert.deepEqual(await offeredTypes(dnsOnly), ['dns-01'], 'http-01 and tls-alpn-01 are not offered');
      assert.equal((await client.post(dnsOnly.body.authorizations[0], { status: 'deactivated' })).body.status, 'deactivated');

      await setCaa(`accounturi=${client.accountUrl}; validationmethods=http-01`);
      const httpOnly = await newOrder();
      assert.deepEqual(await offeredTypes(httpOnly), ['http-01']);
      const challenge = (await client.post(httpOnly.body.authorizations[0], '')).body.challenges[0];
      web.set(challenge.token, `${challenge.token}.${await calculateJwkThumbprint(client.jwk)}`);
      assert.equal((await client.post(challenge.url, {})).body.status, 'valid');
      const issued = await finalize(httpOnly);
      assert.equal(issued.body.status, 'valid');
      const instanceOf = async (order: any) => (await frank.get('/api/v1/instances?pageSize=100')).body.items.find((i: any) => i.certificate?.id && order.body.certificate?.endsWith(i.certificate.id));
      const acmeIssued = await instanceOf(issued);
      assert.ok(acmeIssued, 'the ACME order issued one of frank\'s instances');
      const throughRest = await expectError(frank.post(`/api/v1/instances/${acmeIssued.id}/reissue`, {}), 409, 'REISSUE_THROUGH_ACME');
      assert.match(throughRest.message, /renew it with your ACME client/);

      // The name stays proven by http-01: reused while CAA allows http-01, not once it allows only dns-01.
      await grant(admin, 'frank@example.com', 'dv', 'single');
      await grant(admin, 'frank@example.com', 'dv', 'single');
      const reused = await newOrder();
      assert.equal(reused.body.status, 'ready', 'the authorization proven by http-01 is reused');
      await setCaa(`accounturi=${client.accountUrl}; validationmethods=dns-01`);
      const fresh = await newOrder();
      assert.equal(fresh.body.status, 'pending', 'an authorization proven by http-01 is not reused once CAA allows only dns-01');
      assert.deepEqual(await offeredTypes(fresh), ['dns-01']);

      // Past 7 hours, finalize asks CAA again, with the type that proved the name.
      await service.sql('UPDATE acme_orders SET created_at = ? WHERE id = ?', [new Date(Date.now() - 8 * 3600_000).toISOString(), (reused.headers.get('location') as string).split('/').pop()]);
      const stale = await finalize(reused);
      assert.equal(stale.body.status, 'invalid', JSON.stringify(stale.body));
      assert.match(stale.body.error.detail, /allows only the validation methods dns-01, and the name was or can be proven only by http-01/);
      assert.equal((await newOrder()).status, 201, 'the order refused at finalize handed its instance back');
    });

    test('withdrawing over REST fails the open ACME order on the instance; an authorization takes no JSON null', async () => {
      const { user: mallory, instance, client, newOrder } = await subscriberOrdering('mallory@example.com', 'mallory.example.com');
      const created = await newOrder();
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assertProblem(await client.post(created.body.authorizations[0], null), 'malformed', 400);
      await expectOk(mallory.post(`/api/v1/instances/${instance}/withdraw`));
      const order = await client.post(created.headers.get('location') as string, '');
      assert.equal(order.body.status, 'invalid');
      assert.match(order.body.error.detail, /withdrawn outside ACME/);
    });

    test('finalize reuses the CAA answer newOrder got moments before, as the Baseline Requirements allow within 8 hours', async () => {
      await grant(admin, 'alice@example.com', 'dv', 'single');
      await dns.addRecord('late.example.com', 'A', '127.0.0.1');
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, 'alice@example.com'));
      const created = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'late.example.com' }] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const authz = await client.post(created.body.authorizations[0], '');
      const http01 = authz.body.challenges.find((c: any) => c.type === 'http-01');
      web.set(http01.token, `${http01.token}.${await calculateJwkThumbprint(client.jwk)}`);
      assert.equal((await client.post(http01.url, {})).body.status, 'valid');
      // A CAA record that would forbid certdesk appears between newOrder and finalize.
      await dns.addRecord('late.example.com', 'CAA', '0 issue "other-ca.example"');
      const csr = createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['late.example.com']).replace(/-----[^-]+-----|\s/g, '');
      const done = await client.post(created.body.finalize, { csr: Buffer.from(csr, 'base64').toString('base64url') });
      assert.equal(done.body.status, 'valid', JSON.stringify(done.body));
      // A new order asks CAA again and is refused.
      await grant(admin, 'alice@example.com', 'dv', 'single');
      assertProblem(await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'late.example.com' }] }), 'caa', 403);
    });

    test('an order whose finalize a stopped server cut short settles from its instance when next read', async () => {
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, 'alice@example.com'));
      const readyOrder = async (name: string) => {
        await grant(admin, 'alice@example.com', 'dv', 'single');
        await dns.addRecord(name, 'A', '127.0.0.1');
        const created = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: name }] });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const http01 = (await client.post(created.body.authorizations[0], '')).body.challenges.find((c: any) => c.type === 'http-01');
        web.set(http01.token, `${http01.token}.${await calculateJwkThumbprint(client.jwk)}`);
        assert.equal((await client.post(http01.url, {})).body.status, 'valid');
        const url = created.headers.get('location') as string;
        return { url, id: url.split('/').pop() as string, finalize: created.body.finalize as string };
      };
      const csrFor = (name: string) => Buffer.from(createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, [name]).replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64url');

      // Stopped after the certificate was committed, before the order recorded it.
      const issued = await readyOrder('cut-after.example.com');
      const done = await client.post(issued.finalize, { csr: csrFor('cut-after.example.com') });
      assert.equal(done.body.status, 'valid', JSON.stringify(done.body));
      await service.sql('UPDATE acme_orders SET status = ?, certificate_id = NULL WHERE id = ?', ['ready', issued.id]);
      const settled = await client.post(issued.url, '');
      assert.equal(settled.body.status, 'valid', JSON.stringify(settled.body));
      assert.equal(settled.body.certificate, done.body.certificate, 'the order points at the certificate that was issued');
      assert.match(await verifyWithOpenssl(alice, (await client.post(settled.body.certificate, '')).body, dir), /DNS:cut-after\.example\.com/);

      // Left "processing" before issuance (as earlier versions could): ready again, and finalize completes it.
      const interrupted = await readyOrder('cut-before.example.com');
      await service.sql('UPDATE acme_orders SET status = ? WHERE id = ?', ['processing', interrupted.id]);
      assert.equal((await client.post(interrupted.url, '')).body.status, 'ready');
      const finished = await client.post(interrupted.finalize, { csr: csrFor('cut-before.example.com') });
      assert.equal(finished.body.status, 'valid', JSON.stringify(finished.body));
      assertProblem(await client.post(interrupted.finalize, { csr: csrFor('cut-before.example.com') }), 'orderNotReady', 403);
    });

    test('an order draws on the smallest instance that fits it, the oldest first among equals', async () => {
      const carol = await service.user('carol@example.com', 'subscriber');
      const multi3 = await grant(admin, 'carol@example.com', 'dv', 'multi', 3);
      const multi2 = await grant(admin, 'carol@example.com', 'dv', 'multi', 2);
      const singles = [await grant(admin, 'carol@example.com', 'dv', 'single'), await grant(admin, 'carol@example.com', 'dv', 'single')];
      const wildcard = await grant(admin, 'carol@example.com', 'dv', 'wildcard');
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, 'carol@example.com'));
      const pending = async () => new Set((await carol.get('/api/v1/instances?status=pending_application&pageSize=50')).body.items.map((i: { id: string }) => i.id));
      const claimedBy = async (names: string[]): Promise<string> => {
        const before = await pending();
        const res = await client.post(client.directory.newOrder, { identifiers: names.map((value) => ({ type: 'dns', value })) });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const after = await pending();
        const taken = [...before].filter((id) => !after.has(id));
        assert.equal(taken.length, 1, 'one order takes one instance');
        return taken[0] as string;
      };
      assert.equal(await claimedBy(['one.example.com']), singles[0], 'one name: the oldest single, not a multi-domain instance');
      assert.equal(await claimedBy(['two.example.com', 'three.example.com']), multi2, 'two names: the 2-domain instance, not the 3-domain one');
      assert.equal(await claimedBy(['*.example.com']), wildcard, 'a wildcard: the wildcard instance');
      assert.equal(await claimedBy(['four.example.com']), singles[1]);
      assert.equal(await claimedBy(['five.example.com']), multi3, 'with no single left, a multi-domain instance holds one name');
      const none = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'six.example.com' }] });
      assertProblem(none, 'unauthorized', 403);
    });

    test('orders placed at once each take an instance of their own, and the one too many is refused', async () => {
      const dave = await service.user('dave@example.com', 'subscriber');
      const singles = [];
      for (let i = 0; i < 4; i++) singles.push(await grant(admin, 'dave@example.com', 'dv', 'single'));
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, 'dave@example.com'));
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: `at-once-${i}.example.com` }] })));
      assert.equal(replies.filter((r) => r.status === 201).length, 4, JSON.stringify(replies.map((r) => r.body)));
      const refused = replies.find((r) => r.status !== 201);
      assert.ok(refused);
      assertProblem(refused, 'unauthorized', 403);
      const ids = async (status: string) => (await dave.get(`/api/v1/instances?status=${status}&pageSize=50`)).body.items.map((i: { id: string }) => i.id).sort();
      assert.deepEqual(await ids('pending_application'), [], 'no instance is left unclaimed, so no two orders share one');
      assert.deepEqual(await ids('domain_verification'), [...singles].sort());
    });

    test('an order for a name CAA forbids is refused with caa; a CSR naming other domains is badCSR; over the quota is refused', async () => {
      const eab = await eabKey(service, 'alice@example.com');
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(eab);
      await grant(admin, 'alice@example.com', 'dv', 'single');
      assertProblem(await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.org' }] }), 'caa', 403);

      const created = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'api.example.com' }] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.status, 'pending');
      const authz = await client.post(created.body.authorizations[0], '');
      const http01 = authz.body.challenges.find((c: any) => c.type === 'http-01');
      assert.deepEqual(authz.body.challenges.map((c: any) => c.type).sort(), ['dns-01', 'http-01', 'tls-alpn-01']);
      web.set(http01.token, `${http01.token}.${await calculateJwkThumbprint(client.jwk)}`);
      assertProblem(await client.post(created.body.finalize, { csr: 'AAAA' }), 'orderNotReady', 403);
      const validated = await client.post(http01.url, {});
      assert.equal(validated.body.status, 'valid', JSON.stringify(validated.body));
      const order = await client.post(created.headers.get('location') as string, '');
      assert.equal(order.body.status, 'ready');

      const key = generateKeyPair('ecdsa-p256').privateKeyPem;
      const otherCsr = createCsr(key, ['other.example.com']).replace(/-----[^-]+-----|\s/g, '');
      const bad = await client.post(created.body.finalize, { csr: Buffer.from(otherCsr, 'base64').toString('base64url') });
      assertProblem(bad, 'badCSR', 400);
      assert.match(bad.body.detail, /other\.example\.com/);

      const goodCsr = createCsr(key, ['api.example.com']).replace(/-----[^-]+-----|\s/g, '');
      const done = await client.post(created.body.finalize, { csr: Buffer.from(goodCsr, 'base64').toString('base64url') });
      assert.equal(done.body.status, 'valid', JSON.stringify(done.body));
      const chain = await client.post(done.body.certificate, '');
      assert.equal(chain.headers.get('content-type'), 'application/pem-certificate-chain');
      assert.match(await verifyWithOpenssl(alice, chain.body, dir), /DNS:api\.example\.com/);

      const over = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'api.example.com' }, { type: 'dns', value: 'www.example.com' }] });
      assertProblem(over, 'unauthorized', 403);
      assert.match(over.body.detail, /no pending DV instance left that covers 2 names/);

      const certDer = Buffer.from(chain.body.split('-----END CERTIFICATE-----')[0].replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64url');
      const revoked = await client.post(client.directory.revokeCert, { certificate: certDer, reason: 1 });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assertProblem(await client.post(client.directory.revokeCert, { certificate: certDer }), 'alreadyRevoked', 400);
    });

    test('a failed, deactivated or expired order hands its instance back at once: the next order for the name gets it without the old order being read', async () => {
      const { user: erin, instance: only, client, newOrder } = await subscriberOrdering('erin@example.com', 'retry.example.com');
      const order = async () => {
        const created = await newOrder();
        assert.equal(created.status, 201, JSON.stringify(created.body));
        return { url: created.headers.get('location') as string, authz: created.body.authorizations[0] as string };
      };

      // The challenge server answers with the wrong key authorization, as a misconfigured web server would.
      const failed = await order();
      const http01 = (await client.post(failed.authz, '')).body.challenges.find((c: any) => c.type === 'http-01');
      web.set(http01.token, `${http01.token}.not-the-account-thumbprint`);
      assert.equal((await client.post(http01.url, {})).body.status, 'invalid');
      const deactivated = await order();
      assert.equal((await client.post(deactivated.authz, { status: 'deactivated' })).body.status, 'deactivated');
      const lapsed = await order();
      await service.sql('UPDATE acme_orders SET expires = ? WHERE id = ?', [new Date(Date.now() - 1000).toISOString(), lapsed.url.split('/').pop()]);
      const last = await order();

      for (const [url, cause] of [[failed.url, /retry\.example\.com was not proven/], [deactivated.url, /deactivated/], [lapsed.url, /expired/]] as const) {
        const body = (await client.post(url, '')).body;
        assert.equal(body.status, 'invalid', JSON.stringify(body));
        assert.match(body.error.detail, cause);
      }
      assert.equal((await client.post(last.url, '')).body.status, 'pending');
      const progress = await erin.get(`/api/v1/instances/${only}/progress`);
      assert.equal(progress.body.events.filter((e: any) => e.type === 'withdrawn').length, 3, JSON.stringify(progress.body.events));
      assert.equal((await erin.get(`/api/v1/instances/${only}`)).body.status, 'domain_verification', 'the fourth order holds the one instance');
    });

    test('finalize refuses the account key and a CSR that is not DER, and names the certificate of an order already finalized', async () => {
      const { client, newOrder } = await subscriberOrdering('grace@example.com', 'final.example.com');
      const created = await newOrder();
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const authzUrl = created.body.authorizations[0] as string;
      const http01 = (await client.post(authzUrl, '')).body.challenges.find((c: any) => c.type === 'http-01');
      web.set(http01.token, `${http01.token}.${await calculateJwkThumbprint(client.jwk)}`);
      assert.equal((await client.post(http01.url, {})).body.status, 'valid');

      const notAuthzChange = await client.post(authzUrl, { status: 'valid' });
      assertProblem(notAuthzChange, 'malformed', 400);
      assert.match(notAuthzChange.body.detail, /\{"status":"deactivated"\}/);
      assert.equal((await client.post(authzUrl, '')).body.status, 'valid');

      const notDer = await client.post(created.body.finalize, { csr: 'AAAA' });
      assertProblem(notDer, 'badCSR', 400);
      assert.match(notDer.body.detail, /base64url-encoded DER of a PKCS#10/);
      assert.doesNotMatch(notDer.body.detail, /PEM/);
      const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64url');
      const accountKeyCsr = await client.post(created.body.finalize, { csr: der(createCsr(await exportPKCS8(client.privateKey), ['final.example.com'])) });
      assertProblem(accountKeyCsr, 'badCSR', 400);
      assert.match(accountKeyCsr.body.detail, /account's key/);

      const done = await client.post(created.body.finalize, { csr: der(createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['final.example.com'])) });
      assert.equal(done.body.status, 'valid', JSON.stringify(done.body));
      const again = await client.post(created.body.finalize, { csr: der(createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['final.example.com'])) });
      assertProblem(again, 'orderNotReady', 403);
      assert.match(again.body.detail, /already finalized/);
      assert.ok(again.body.detail.includes(done.body.certificate), again.body.detail);
    });

    test('newOrder for a wildcard with its base name says to split the order; a JWS sent as application/json is 415', async () => {
      await service.user('heidi@example.com', 'subscriber');
      await grant(admin, 'heidi@example.com', 'dv', 'wildcard');
      await grant(admin, 'heidi@example.com', 'dv', 'multi', 2);
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, 'heidi@example.com'));
      const pair = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: '*.example.com' }, { type: 'dns', value: 'example.com' }] });
      assertProblem(pair, 'unauthorized', 403);
      assert.match(pair.body.detail, /one order for each wildcard \(\*\.example\.com\) and one for the other name/);
      assert.doesNotMatch(pair.body.detail, /another DV instance/);

      const res = await fetch(client.directory.newOrder, { method: 'POST', headers: { 'content-type': 'application/json' }, body: await client.sign(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'www.example.com' }] }) });
      assertProblem({ status: res.status, body: await res.json(), headers: res.headers }, 'malformed', 415);
    });

    test('keyChange: a key in use is 409 with that account in Location and not in the detail; an inner JWS with kid is named as such; an unusable key is badPublicKey', async () => {
      await service.user('ivan@example.com', 'subscriber');
      await service.user('judy@example.com', 'subscriber');
      const client = await RawAcmeClient.create(directoryUrl);
      await client.register(await eabKey(service, 'ivan@example.com'));
      const other = await RawAcmeClient.create(directoryUrl);
      await other.register(await eabKey(service, 'judy@example.com'));
      const keyChange = client.directory.keyChange as string;
      // Signed by the other account's key, without a nonce, as keyChange's inner JWS is.
      const inner = (header: Record<string, unknown>) =>
        new FlattenedSign(new TextEncoder().encode(JSON.stringify({ account: client.accountUrl, oldKey: client.jwk }))).setProtectedHeader({ alg: 'ES256', url: keyChange, ...header }).sign(other.privateKey);

      const taken = await client.post(keyChange, await inner({ jwk: other.jwk }));
      assertProblem(taken, 'malformed', 409);
      assert.equal(taken.headers.get('location'), other.accountUrl);
      assert.ok(!taken.body.detail.includes((other.accountUrl as string).split('/').pop() as string), taken.body.detail);
      const withKid = await client.post(keyChange, await inner({ kid: other.accountUrl }));
      assertProblem(withKid, 'malformed', 400);
      assert.match(withKid.body.detail, /keyChange's inner JWS must be signed with the new key embedded as jwk/);

      // The key is judged before the signature, so these need no real one.
      const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
      const offCurve = { ...client.jwk, y: Buffer.alloc(32, 1).toString('base64url') };
      for (const [alg, jwk] of [['RS256', rsa1024], ['ES256', p384], ['ES256', offCurve]] as const) {
        const url = client.directory.newAccount as string;
        const protectedHeader = Buffer.from(JSON.stringify({ alg, nonce: await client.nonce(), url, jwk })).toString('base64url');
        const body = JSON.stringify({ protected: protectedHeader, payload: Buffer.from('{"termsOfServiceAgreed":true}').toString('base64url'), signature: Buffer.alloc(64, 1).toString('base64url') });
        const refused = await client.postBody(url, body);
        assertProblem(refused, 'badPublicKey', 400);
      }
    });
  });
}
