/**
 * Bad input, roles and tenant isolation against a real `certdesk serve`:
 * every wrong request gets a 4xx with a stable code, another tenant's ids
 * look exactly like missing ones, and no private key leaves unencrypted.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { makeTempDir } from '../support/daemon.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectError, expectOk, grant, organization, run, tinyPng, uploadDocument } from '../support/flows.js';
import { httpRequest } from '../support/http_request.js';

async function opensslCsr(args: { key: string[]; subj: string; san?: string }): Promise<string> {
  const dir = makeTempDir('csr');
  const keyFile = path.join(dir, 'key.pem');
  await run('openssl', ['genpkey', ...args.key, '-out', keyFile]);
  const { stdout } = await run('openssl', ['req', '-new', '-key', keyFile, '-subj', args.subj, ...(args.san ? ['-addext', `subjectAltName=${args.san}`] : [])]);
  return stdout;
}

/** Every stored key column, read straight from the database the service uses. */
async function storedKeyColumns(service: CertdeskProcess): Promise<string[]> {
  const query = "SELECT key_sealed FROM authorities UNION ALL SELECT key_sealed FROM applications WHERE key_sealed IS NOT NULL UNION ALL SELECT key_sealed FROM certificates WHERE key_sealed IS NOT NULL";
  if (service.databaseUrl) {
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ key_sealed: string }>(query);
    await client.end();
    return rows.map((r) => r.key_sealed);
  }
  const db = new SQLite(path.join(service.dataDir, 'certdesk.db'), { readonly: true });
  const rows = db.prepare(query).all() as { key_sealed: string }[];
  db.close();
  return rows.map((r) => r.key_sealed);
}

for (const backend of await backends()) {
  describe(`API safety (${backend})`, () => {
    let dns: Bind9Server;
    let service: CertdeskProcess;
    let admin: ApiClient;
    let alice: ApiClient;
    let mallory: ApiClient;
    let reviewer: ApiClient;
    let aliceDv: string;
    let aliceOv: string;
    let aliceCert: string;

    before(async () => {
      dns = await startBind9({ zones: ['example.com'] });
      service = await startCertdesk({ backend, resolvers: [dns.address] });
      admin = await service.user('ops@example.com', 'admin');
      alice = await service.user('alice@example.com', 'subscriber');
      mallory = await service.user('mallory@example.com', 'subscriber');
      reviewer = await service.user('rita@ca.example', 'reviewer');
      aliceDv = await grant(admin, 'alice@example.com', 'dv', 'single');
      await expectOk(alice.put(`/api/v1/instances/${aliceDv}/application`, { domains: ['www.example.com'], csr: { mode: 'auto', keyAlgorithm: 'ecdsa-p256' }, contact }));
      const v = (await expectOk(alice.post(`/api/v1/instances/${aliceDv}/submit`))).validation[0];
      await dns.addRecord(v.dns.name, 'TXT', v.dns.value);
      const issued = await expectOk(alice.post(`/api/v1/instances/${aliceDv}/verify`));
      assert.equal(issued.status, 'issued');
      aliceCert = issued.certificate.id;
      aliceOv = await grant(admin, 'alice@example.com', 'ov', 'single');
      await expectOk(uploadDocument(alice, aliceOv, tinyPng, 'license.png'), 201);
    });

    after(async () => {
      await service?.stop();
      await dns?.stop();
    });

    test("another tenant's ids answer exactly like ids that do not exist", async () => {
      const docs = (await expectOk(alice.get(`/api/v1/instances/${aliceOv}`))).documents;
      const requests: [string, string, unknown?][] = [
        ['GET', `/api/v1/instances/{id}`],
        ['GET', `/api/v1/instances/{id}/application`],
        ['PUT', `/api/v1/instances/{id}/application`, { domains: ['evil.example.com'], csr: { mode: 'auto' }, contact }],
        ['POST', `/api/v1/instances/{id}/submit`, {}],
        ['POST', `/api/v1/instances/{id}/verify`, {}],
        ['POST', `/api/v1/instances/{id}/withdraw`, {}],
        ['GET', `/api/v1/instances/{id}/progress`],
        ['GET', `/api/v1/instances/{id}/download?server=nginx`],
        ['GET', `/api/v1/instances/{id}/authorization-letter`],
        ['GET', `/api/v1/instances/{id}/documents/${docs[0].id}`],
        ['DELETE', `/api/v1/instances/{id}/documents/${docs[0].id}`],
      ];
      for (const [method, template, body] of requests) {
        for (const id of [aliceDv, aliceOv]) {
          const foreign = await mallory.call(method, template.replace('{id}', id), body);
          const missing = await mallory.call(method, template.replace('{id}', 'inst_doesnotexist'), body);
          assert.equal(foreign.status, 404, `${method} ${template} on a foreign id: ${JSON.stringify(foreign.body)}`);
          assert.deepEqual(foreign.body.error.code, missing.body.error.code, `${method} ${template}`);
          assert.equal(foreign.body.error.message.replace(id, 'X'), missing.body.error.message.replace('inst_doesnotexist', 'X'));
        }
      }
      await expectError(mallory.get(`/api/v1/certificates/${aliceCert}`), 404, 'NOT_FOUND');
      await expectError(mallory.post(`/api/v1/certificates/${aliceCert}/revoke`, { reason: 'keyCompromise' }), 404, 'NOT_FOUND');
      await expectError(mallory.post('/api/v1/instances/combine', { instanceIds: [aliceOv, aliceDv] }), 404, 'NOT_FOUND');
      const list = await expectOk(mallory.get('/api/v1/instances'));
      assert.equal(list.total, 0, 'mallory lists none of alice’s instances');
      assert.equal((await expectOk(mallory.get('/api/v1/certificates'))).items.length, 0);
      assert.equal((await expectOk(mallory.get('/api/v1/instances?domain=example.com'))).total, 0);
    });

    test('roles: subscribers cannot grant instances, review, or administer; anonymous callers must sign in', async () => {
      await expectError(alice.post('/api/v1/instances', { owner: 'alice@example.com', product: 'dv', domainType: 'single' }), 403, 'FORBIDDEN');
      await expectError(alice.get('/api/v1/reviews'), 403, 'FORBIDDEN');
      await expectError(alice.post(`/api/v1/reviews/${aliceOv}/approve`), 403, 'FORBIDDEN');
      await expectError(alice.get('/api/v1/users'), 403, 'FORBIDDEN');
      await expectError(alice.get('/api/v1/settings'), 403, 'FORBIDDEN');
      await expectError(alice.get('/api/v1/outbox'), 403, 'FORBIDDEN');
      await expectError(reviewer.call('GET', `/api/v1/instances/${aliceDv}/download?server=nginx`), 404, 'NOT_FOUND');
      await expectError(admin.call('GET', `/api/v1/instances/${aliceDv}/download?server=nginx`), 403, 'FORBIDDEN');
      assert.ok((await expectOk(alice.get(`/api/v1/instances/${aliceDv}`))).actions.includes('download'), 'the owner is offered the download');
      assert.ok(!(await expectOk(admin.get(`/api/v1/instances/${aliceDv}`))).actions.includes('download'), 'an admin is not offered what the server refuses');
      assert.ok(!(await expectOk(admin.get('/api/v1/instances?pageSize=100'))).items.find((i: any) => i.id === aliceDv).actions.includes('download'));
      await expectError(service.anonymous().get('/api/v1/instances'), 401, 'AUTH_REQUIRED');
      await expectError(new (alice.constructor as typeof ApiClient)(service.url, 'cdk_forged').get('/api/v1/instances'), 401, 'AUTH_REQUIRED');
    });

    test('bad domains, quotas and wildcards are refused with the field to fix', async () => {
      const single = await grant(admin, 'alice@example.com', 'dv', 'single');
      const put = (domains: unknown) => alice.put(`/api/v1/instances/${single}/application`, { domains, csr: { mode: 'auto' }, contact });
      assert.equal((await expectError(put(['bad domain.com']), 400, 'DOMAIN_INVALID')).field, 'domains[0]');
      await expectError(put(['https://www.example.com/path']), 400, 'DOMAIN_INVALID');
      await expectError(put(['intranet.local']), 400, 'DOMAIN_NOT_PUBLIC');
      await expectError(put(['*.example.com']), 400, 'WILDCARD_NOT_ALLOWED');
      await expectError(put(['a.example.com', 'b.example.com']), 400, 'TOO_MANY_DOMAINS');
      await expectError(put([]), 400, 'DOMAINS_REQUIRED');
      await expectError(put(['10.1.2.3']), 400, 'IP_NOT_PUBLIC');
      const wildcard = await grant(admin, 'alice@example.com', 'dv', 'wildcard');
      await expectError(alice.put(`/api/v1/instances/${wildcard}/application`, { domains: ['*.co.uk'], csr: { mode: 'auto' }, contact }), 400, 'WILDCARD_ON_PUBLIC_SUFFIX');
      const idn = await expectOk(alice.put(`/api/v1/instances/${wildcard}/application`, { domains: ['*.bücher.de'], csr: { mode: 'auto' }, contact }));
      assert.equal(idn.domains[0].name, '*.xn--bcher-kva.de');
      await expectError(admin.post('/api/v1/instances', { owner: 'alice@example.com', product: 'xv', domainType: 'single' }), 400, 'PRODUCT_INVALID');
      await expectError(admin.post('/api/v1/instances', { owner: 'alice@example.com', product: 'dv', domainType: 'multi', domainCount: 1000 }), 400, 'DOMAIN_COUNT_INVALID');
      await expectError(admin.post('/api/v1/instances', { owner: 'nobody@example.com', product: 'dv', domainType: 'single' }), 400, 'OWNER_UNKNOWN');
      await expectError(alice.put(`/api/v1/instances/${single}/application`, { domains: ['www.example.com'], csr: { mode: 'auto' }, contact: { ...contact, email: 'not-an-email' } }), 400, 'EMAIL_INVALID');
      await expectError(alice.get('/api/v1/instances?status=bogus'), 400, 'STATUS_INVALID');
    });

    test('manual CSRs: unparsable, weak key, bad signature and other names are refused; a good one is accepted', async () => {
      const id = await grant(admin, 'alice@example.com', 'dv', 'multi', 2);
      const put = (pem: string) => alice.put(`/api/v1/instances/${id}/application`, { domains: ['www.example.com', 'example.com'], csr: { mode: 'manual', pem }, contact });
      await expectError(put('hello'), 400, 'CSR_INVALID');
      const weak = await opensslCsr({ key: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'], subj: '/CN=www.example.com', san: 'DNS:www.example.com,DNS:example.com' });
      await expectError(put(weak), 400, 'CSR_WEAK_KEY');
      const good = await opensslCsr({ key: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], subj: '/CN=www.example.com', san: 'DNS:www.example.com,DNS:example.com' });
      const der = Buffer.from(good.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
      der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
      const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
      await expectError(put(tampered), 400, 'CSR_BAD_SIGNATURE');
      const other = await opensslCsr({ key: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], subj: '/CN=evil.example.com' });
      const mismatch = await expectError(put(other), 400, 'CSR_NAMES_MISMATCH');
      assert.match(mismatch.message, /evil\.example\.com/);
      const saved = await expectOk(put(good));
      assert.equal(saved.csr.mode, 'manual');
      const iis = await alice.call('GET', `/api/v1/instances/${id}/download?server=iis`);
      assert.equal(iis.status, 409, 'not issued yet');
    });

    test('documents must be PNG or JPEG by content and at most 500 KB', async () => {
      await expectError(uploadDocument(alice, aliceOv, Buffer.from('%PDF-1.4\n%...'), 'license.png'), 415, 'DOCUMENT_NOT_IMAGE');
      const big = Buffer.concat([tinyPng, Buffer.alloc(500 * 1024)]);
      await expectError(uploadDocument(alice, aliceOv, big, 'big.png'), 413, 'DOCUMENT_TOO_LARGE');
      await expectError(uploadDocument(alice, aliceDv, tinyPng, 'x.png'), 400, 'DOCUMENTS_NOT_NEEDED');
      await expectError(uploadDocument(alice, aliceOv, tinyPng, 'x.png', 'passport-photo'), 400, 'DOCUMENT_KIND_INVALID');
    });

    test('an upload that is not well-formed multipart gets 400 MULTIPART_MALFORMED and stores nothing', async () => {
      const boundary = 'certdesk-test-boundary';
      const post = async (body: Buffer) => {
        const res = await httpRequest(`${alice.baseUrl}/api/v1/instances/${aliceOv}/documents`, 'POST', { authorization: `Bearer ${alice.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, body);
        return { status: res.status, body: JSON.parse(res.bytes.toString('utf8')) };
      };
      const part = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="license.png"\r\nContent-Type: image/png\r\n\r\n`), tinyPng]);
      const documents = async () => (await expectOk(alice.get(`/api/v1/instances/${aliceOv}`))).documents.length;
      const before = await documents();
      // No part at all, and a file cut off before its closing boundary.
      for (const body of [Buffer.from('{'), part]) {
        const error = await expectError(post(body), 400, 'MULTIPART_MALFORMED');
        assert.equal(error.field, 'file');
      }
      assert.equal(await documents(), before);
      await expectOk(post(Buffer.concat([part, Buffer.from(`\r\n--${boundary}--\r\n`)])), 201);
      assert.equal(await documents(), before + 1);
    });

    test('a request without the JSON body its route takes is told to send one', async () => {
      for (const res of [await alice.call('POST', `/api/v1/certificates/${aliceCert}/revoke`), await alice.call('POST', `/api/v1/certificates/${aliceCert}/revoke`, '[]', { 'content-type': 'application/json' })]) {
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'VALIDATION_FAILED');
        assert.match(res.body.error.message, /Send the request body as a JSON object with Content-Type: application\/json/);
      }
      assert.equal((await expectOk(alice.get(`/api/v1/certificates/${aliceCert}`))).status, 'valid', 'nothing was revoked');
    });

    test('malformed requests get 4xx, never 500', async () => {
      const cases = [
        await alice.call('PUT', `/api/v1/instances/${aliceOv}/application`, undefined, { 'content-type': 'application/json' }),
        await alice.call('POST', '/api/v1/instances/combine', '{not json', { 'content-type': 'application/json' }),
        await alice.put(`/api/v1/instances/${aliceOv}/application`, { domains: 42, csr: 'auto' }),
        await alice.put(`/api/v1/instances/${aliceOv}/application`, { domains: ['www.example.com'], csr: { mode: 'sideways' }, contact, organization }),
        await alice.put(`/api/v1/instances/${aliceOv}/application`, { domains: ['www.example.com'], csr: { mode: 'auto', keyAlgorithm: 'dsa-1024' }, contact, organization }),
        await alice.post(`/api/v1/certificates/${aliceCert}/revoke`, { reason: 'because' }),
        await alice.get('/api/v1/instances?page=0'),
        await alice.get('/api/v1/instances?page=461168601842738790'),
        await alice.get('/api/v1/instances?page=99999999999999999999'),
        await alice.get('/api/v1/instances?page=1000001&pageSize=100'),
        await alice.get('/api/v1/nothing-here'),
        await admin.put('/api/v1/settings', { dnsResolvers: ['not-an-ip'] }),
        await admin.put('/api/v1/settings', { colour: 'blue' }),
      ];
      for (const res of cases) {
        assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${JSON.stringify(res.body)}`);
        assert.match(res.body.error.code, /^[A-Z_]+$/);
      }
    });

    test('private keys are sealed in the database, absent from logs and API responses, and only in the owner’s download', async () => {
      const stored = await storedKeyColumns(service);
      assert.ok(stored.length >= 3, 'the CA keys and the generated key are stored');
      for (const value of stored) {
        assert.match(value, /^v1\./, 'sealed with the master key');
        assert.ok(!value.includes('PRIVATE KEY'));
      }
      const files = readdirSync(service.dataDir).filter((f) => f.startsWith('certdesk.db'));
      for (const f of files) assert.ok(!readFileSync(path.join(service.dataDir, f)).includes('PRIVATE KEY'), `${f} holds no plain private key`);
      assert.ok(!service.output().includes('PRIVATE KEY'), 'the service log holds no private key');
      const detail = await alice.get(`/api/v1/instances/${aliceDv}`);
      assert.ok(!JSON.stringify(detail.body).includes('PRIVATE KEY'));
      const cert = await alice.get(`/api/v1/certificates/${aliceCert}`);
      assert.equal(cert.body.privateKeyIncluded, true);
      assert.ok(!JSON.stringify(cert.body).includes('PRIVATE KEY'));
      const master = statSync(path.join(service.dataDir, 'master.key'));
      assert.equal(master.mode & 0o077, 0, 'the master key is readable by its owner only');
    });
  });
}
