/**
 * The DV workflow through the REST API of a real `certdesk serve`, with the
 * TXT record in a real bind9, the validation file served by a real nginx, and
 * what certdesk produces read by openssl, keytool, nginx and curl.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectError, expectOk, grant, run, unzip } from '../support/flows.js';
import { startNginx, type NginxServer } from '../support/nginx.js';
import { startTlsNginx } from '../support/nginx_tls.js';
import { requireTool } from '../support/tools.js';
import { createCsr } from '../../src/pki/csr.js';
import { generateKeyPair } from '../../src/pki/keys.js';

for (const backend of await backends()) {
  describe(`DV issuance over REST (${backend})`, () => {
    let dns: Bind9Server;
    let web: NginxServer;
    let service: CertdeskProcess;
    let admin: ApiClient;
    let alice: ApiClient;

    before(async () => {
      dns = await startBind9({ zones: ['example.com', 'example.net', 'example.org'] });
      web = await startNginx();
      service = await startCertdesk({ backend, resolvers: [dns.address], dcvHttpPort: web.port });
      admin = await service.user('ops@example.com', 'admin');
      alice = await service.user('alice@example.com', 'subscriber');
    });

    after(async () => {
      await service?.stop();
      await web?.stop();
      await dns?.stop();
    });

    /** A DV single instance of alice's for `name`, applied for, submitted, its TXT record published and verified: the verify reply. */
    async function appliedAndVerified(name: string, csr: object = { mode: 'auto' }): Promise<{ id: string; txt: any; verified: any }> {
      const id = await grant(admin, 'alice@example.com', 'dv', 'single');
      await expectOk(alice.put(`/api/v1/instances/${id}/application`, { domains: [name], csr, contact }));
      const txt = (await expectOk(alice.post(`/api/v1/instances/${id}/submit`))).validation[0];
      await dns.addRecord(txt.dns.name, 'TXT', txt.dns.value);
      return { id, txt, verified: await expectOk(alice.post(`/api/v1/instances/${id}/verify`)) };
    }

    test('DNS TXT: not found first, then found; issued without human action; downloads work in nginx, IIS and Tomcat; revocation lands in the CRL', async (t) => {
      for (const tool of ['openssl', 'keytool', 'curl', 'unzip', 'nginx']) if (!requireTool(t, tool)) return;
      const id = await grant(admin, 'alice@example.com', 'dv', 'single');
      await expectOk(alice.put(`/api/v1/instances/${id}/application`, { domains: ['www.example.com'], csr: { mode: 'auto', keyAlgorithm: 'ecdsa-p256' }, contact }));
      const submitted = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      assert.equal(submitted.status, 'domain_verification');
      assert.deepEqual(submitted, await expectOk(alice.get(`/api/v1/instances/${id}`)), 'the reply is the detail as read afterwards');
      const hours = (Date.parse(submitted.expectedIssueDate.latest) - Date.parse(submitted.submittedAt)) / 3600_000;
      assert.equal(hours, 2, 'DV is expected within hours');
      const [v] = submitted.validation;
      assert.equal(v.domain, 'www.example.com');
      assert.equal(v.dns.name, '_dnsauth.www.example.com');
      assert.equal(v.dns.type, 'TXT');
      assert.match(v.file.url, /^http:\/\/www\.example\.com\/\.well-known\/pki-validation\/.+\.txt$/);

      const early = await expectOk(alice.post(`/api/v1/instances/${id}/verify`));
      assert.equal(early.status, 'domain_verification');
      const dnsResult = early.validation[0].lastResults.find((r: any) => r.method === 'dns');
      assert.equal(dnsResult.ok, false);
      assert.equal(dnsResult.expected, v.dns.value);
      assert.ok(['NXDOMAIN', 'NO_RECORD'].includes(dnsResult.reason), dnsResult.reason);

      await dns.addRecord(v.dns.name, 'TXT', 'some-other-value');
      const wrong = await expectOk(alice.post(`/api/v1/instances/${id}/verify`));
      const wrongResult = wrong.validation[0].lastResults.find((r: any) => r.method === 'dns');
      assert.equal(wrongResult.reason, 'WRONG_VALUE');
      assert.deepEqual(wrongResult.found, ['some-other-value']);

      await dns.addRecord(v.dns.name, 'TXT', v.dns.value);
      const issued = await expectOk(alice.post(`/api/v1/instances/${id}/verify`));
      assert.equal(issued.status, 'issued', JSON.stringify(issued.validation));
      assert.ok(issued.certificate.serial.length >= 16, 'serial has at least 64 bits');
      assert.deepEqual(issued.certificate.names, ['www.example.com']);
      assert.match(issued.certificate.fingerprints.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(issued.certificate.keyAlgorithm, 'ECDSA P-256');
      assert.deepEqual(issued, await expectOk(alice.get(`/api/v1/instances/${id}`)), 'the reply shows the issued certificate as read afterwards');

      const progress = await expectOk(alice.get(`/api/v1/instances/${id}/progress`));
      const types = progress.events.map((e: any) => e.type);
      for (const step of ['instance_created', 'application_saved', 'submitted', 'dcv_record_not_found', 'dcv_record_found', 'issued']) assert.ok(types.includes(step), `${step} in ${types}`);
      assert.deepEqual(types.slice(-3), ['dcv_record_found', 'issued', 'mail_sent'], 'the proof, the issuance and its notice, in that order');
      const notice = (await expectOk(admin.get('/api/v1/outbox'))).items.filter((m: any) => m.to === contact.email && m.text.includes(id));
      assert.equal(notice.length, 1, 'one issuance notice is kept in the outbox');
      assert.match(notice[0].subject, /issued/i);

      await expectError(alice.post(`/api/v1/instances/${id}/withdraw`), 409, 'WITHDRAW_AFTER_ISSUANCE');

      const root = await alice.get('/ca/root.pem');
      const chain = await alice.get('/ca/chain.pem');
      const nginxZip = await alice.call('GET', `/api/v1/instances/${id}/download?server=nginx`);
      assert.equal(nginxZip.status, 200);
      assert.equal(nginxZip.headers.get('content-type'), 'application/zip');
      const nginxBundle = await unzip(nginxZip.bytes);
      assert.deepEqual(nginxBundle.files, ['www.example.com.key', 'www.example.com.pem']);
      writeFileSync(path.join(nginxBundle.dir, 'root.pem'), root.bytes);
      writeFileSync(path.join(nginxBundle.dir, 'chain.pem'), chain.bytes);
      const leaf = path.join(nginxBundle.dir, 'www.example.com.pem');
      const verified = await run('openssl', ['verify', '-CAfile', path.join(nginxBundle.dir, 'root.pem'), '-untrusted', leaf, leaf]);
      assert.match(verified.stdout, /: OK/);

      const tls = await startTlsNginx({ certificate: leaf, key: path.join(nginxBundle.dir, 'www.example.com.key') });
      try {
        const { stdout } = await run('curl', ['-sS', '--cacert', path.join(nginxBundle.dir, 'root.pem'), '--resolve', `www.example.com:${tls.port}:127.0.0.1`, `https://www.example.com:${tls.port}/`]);
        assert.match(stdout, /served by nginx with the certdesk bundle/);
      } finally {
        await tls.stop();
      }

      const iis = await unzip((await alice.call('GET', `/api/v1/instances/${id}/download?server=iis`)).bytes);
      const pfxPassword = iis.read('pfx-password.txt').trim();
      const pfx = await run('openssl', ['pkcs12', '-in', path.join(iis.dir, 'www.example.com.pfx'), '-info', '-nodes', '-passin', `pass:${pfxPassword}`]);
      assert.match(pfx.stdout, /BEGIN PRIVATE KEY/);
      assert.match(pfx.stdout, /subject=.*www\.example\.com/);

      const tomcat = await unzip((await alice.call('GET', `/api/v1/instances/${id}/download?server=tomcat`)).bytes);
      const jksPassword = tomcat.read('jks-password.txt').trim();
      const jks = await run('keytool', ['-list', '-v', '-keystore', path.join(tomcat.dir, 'www.example.com.jks'), '-storepass', jksPassword]);
      assert.match(jks.stdout, /PrivateKeyEntry/);
      assert.match(jks.stdout, /Certificate chain length: 2/);

      const apache = await unzip((await alice.call('GET', `/api/v1/instances/${id}/download?server=apache`)).bytes);
      assert.deepEqual(apache.files, ['www.example.com.key', 'www.example.com_chain.crt', 'www.example.com_public.crt']);

      await expectError(alice.call('GET', `/api/v1/instances/${id}/download?server=windows`), 400, 'SERVER_TYPE_INVALID');

      const crlNumberOf = async (der: Buffer): Promise<bigint> => {
        const file = path.join(nginxBundle.dir, 'number.crl');
        writeFileSync(file, der);
        return BigInt((await run('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-crlnumber'])).stdout.trim().replace(/^crlNumber=/, ''));
      };
      const numberBefore = await crlNumberOf((await alice.get('/ca/intermediate.crl')).bytes);
      const revoked = await expectOk(alice.post(`/api/v1/certificates/${issued.certificate.id}/revoke`, { reason: 'keyCompromise' }));
      assert.equal(revoked.status, 'revoked');
      assert.equal((await expectOk(alice.get(`/api/v1/instances/${id}`))).status, 'revoked');
      assert.equal((await expectOk(alice.get(`/api/v1/instances/${id}/progress`))).events.at(-1).type, 'revoked');
      const crl = await alice.get('/ca/intermediate.crl');
      assert.equal(crl.status, 200);
      const crlFile = path.join(nginxBundle.dir, 'intermediate.crl');
      writeFileSync(crlFile, crl.bytes);
      const crlText = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
      assert.match(crlText.stdout, new RegExp(`Serial Number: ${issued.certificate.serial.toUpperCase()}`));
      assert.match(crlText.stdout, /Key Compromise/);
      assert.ok((await crlNumberOf(crl.bytes)) > numberBefore, 'the CRL with the revocation has a larger cRLNumber than the one before it');
      const crlPem = path.join(nginxBundle.dir, 'intermediate.crl.pem');
      await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-out', crlPem]);
      await assert.rejects(
        run('openssl', ['verify', '-crl_check', '-CAfile', path.join(nginxBundle.dir, 'root.pem'), '-untrusted', path.join(nginxBundle.dir, 'chain.pem'), '-CRLfile', crlPem, leaf]),
        /certificate revoked/,
      );
    });

    test('HTTP file served by nginx proves control', async () => {
      const id = await grant(admin, 'alice@example.com', 'dv', 'single');
      await expectOk(alice.put(`/api/v1/instances/${id}/application`, { domains: 'shop.example.net', csr: { mode: 'auto', keyAlgorithm: 'rsa-2048' }, contact }));
      const submitted = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      const v = submitted.validation[0];
      await dns.addRecord('shop.example.net', 'A', '127.0.0.1');
      const missing = await expectOk(alice.post(`/api/v1/instances/${id}/verify`));
      const httpResult = missing.validation[0].lastResults.find((r: any) => r.method === 'http');
      assert.equal(httpResult.reason, 'HTTP_STATUS');
      assert.match(httpResult.message, /404/);
      await web.writeFile(new URL(v.file.url).pathname, v.file.content);
      const issued = await expectOk(alice.post(`/api/v1/instances/${id}/verify`));
      assert.equal(issued.status, 'issued', JSON.stringify(issued.validation));
      assert.equal(issued.certificate.keyAlgorithm, 'RSA 2048');
    });

    test('a CAA record that names another CA stops issuance with the cause shown', async () => {
      await dns.addRecord('example.org', 'CAA', '0 issue "other-ca.example"');
      const { id, verified: failed } = await appliedAndVerified('www.example.org');
      assert.equal(failed.status, 'validation_failed');
      assert.match(failed.failureReason, /CAA/);
      assert.match(failed.failureReason, /example\.org/);
      const events = (await expectOk(alice.get(`/api/v1/instances/${id}/progress`))).events.map((e: any) => e.type);
      assert.deepEqual(events.slice(-3), ['dcv_record_found', 'caa_forbidden', 'validation_failed'], 'the proof is kept although CAA refused issuance');
      assert.equal((await expectOk(alice.get(`/api/v1/instances/${id}`))).validation[0].status, 'valid');

      // The name stays proven, so a resubmission has nothing left to prove and asks CAA at once.
      const refusedAgain = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      assert.equal(refusedAgain.status, 'validation_failed', 'CAA still names another CA');
      assert.match(refusedAgain.failureReason, /CAA/);
      await dns.removeRecords('example.org', 'CAA');
      await dns.addRecord('example.org', 'CAA', '0 issue "certdesk.local"');
      const issued = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      assert.equal(issued.status, 'issued', 'a CAA record naming certdesk allows issuance, without waiting for a verification');
      assert.deepEqual(issued.certificate.names, ['www.example.org']);
    });

    test('CAA validationmethods and accounturi (RFC 8657) bind requests through the REST API too', async () => {
      await dns.addRecord('rfc8657.example.com', 'CAA', '0 issue "certdesk.local; validationmethods=ca-http-file"');
      const id = await grant(admin, 'alice@example.com', 'dv', 'single');
      await expectOk(alice.put(`/api/v1/instances/${id}/application`, { domains: 'www.rfc8657.example.com', csr: { mode: 'auto' }, contact }));
      const v = (await expectOk(alice.post(`/api/v1/instances/${id}/submit`))).validation[0];
      await dns.addRecord(v.dns.name, 'TXT', v.dns.value);
      const wrongMethod = await expectOk(alice.post(`/api/v1/instances/${id}/verify`));
      assert.equal(wrongMethod.status, 'validation_failed');
      assert.match(wrongMethod.failureReason, /allows only the validation methods ca-http-file, and the name was or can be proven only by ca-dns-txt/);

      await dns.removeRecords('rfc8657.example.com', 'CAA');
      await dns.addRecord('rfc8657.example.com', 'CAA', '0 issue "certdesk.local; accounturi=https://ca.example/acme/acct/1"');
      const noAccount = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      assert.equal(noAccount.status, 'validation_failed');
      assert.match(noAccount.failureReason, /authorizes only the ACME account https:\/\/ca\.example\/acme\/acct\/1; a request through the REST API or the console has no ACME account/);

      await dns.removeRecords('rfc8657.example.com', 'CAA');
      await dns.addRecord('rfc8657.example.com', 'CAA', '0 issue "certdesk.local; validationmethods=http-01,ca-dns-txt"');
      const issued = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      assert.equal(issued.status, 'issued', 'the DNS record is one of the methods the record allows');
    });

    test('reissue within the term: at once with a new key while the proof is fresh; a proof over 398 days old is asked again while the certificate stays downloadable and revocable; the names stay; the term bounds it', async (t) => {
      if (!requireTool(t, 'unzip')) return;
      const { id, txt: v, verified: first } = await appliedAndVerified('renew.example.com');
      assert.equal(first.status, 'issued');
      assert.deepEqual(first.actions, ['revoke', 'reissue', 'download']);
      const publicKey = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      const downloaded = async () => (await unzip((await alice.call('GET', `/api/v1/instances/${id}/download?server=nginx`)).bytes)).read('renew.example.com.pem');
      const makeStale = () => service.sql('UPDATE validations SET validated_at = ? WHERE instance_id = ?', [new Date(Date.now() - 400 * 86400_000).toISOString(), id]);
      /** Publishes the instance's pending TXT records and verifies; the background schedule may prove them first. */
      const proveAgain = async (detail: any) => {
        for (const p of detail.validation.filter((x: any) => x.status !== 'valid')) await dns.addRecord(p.dns.name, 'TXT', p.dns.value);
        const verified = await alice.post(`/api/v1/instances/${id}/verify`);
        return verified.status === 200 ? verified.body : expectOk(alice.get(`/api/v1/instances/${id}`));
      };

      const second = await expectOk(alice.post(`/api/v1/instances/${id}/reissue`, {}));
      assert.equal(second.status, 'issued', 'the name is still proven, so the new certificate is issued at once');
      assert.notEqual(second.certificate.serial, first.certificate.serial);
      assert.notEqual(publicKey(second.certificate.pem), publicKey(first.certificate.pem), 'with a new key');
      assert.ok((await downloaded()).startsWith(second.certificate.pem.trim()), 'downloads give the new certificate');
      await expectOk(alice.post(`/api/v1/certificates/${first.certificate.id}/revoke`, { reason: 'superseded' }));
      const afterOldRevoked = await expectOk(alice.get(`/api/v1/instances/${id}`));
      assert.equal(afterOldRevoked.status, 'issued', 'revoking the certificate a reissue replaced leaves the instance as it is');
      assert.equal((await expectOk(alice.get(`/api/v1/certificates/${second.certificate.id}`))).status, 'valid');

      await makeStale();
      const waiting = await expectOk(alice.post(`/api/v1/instances/${id}/reissue`, {}));
      assert.equal(waiting.status, 'domain_verification', 'a proof older than 398 days is not reused');
      assert.equal(waiting.validation[0].status, 'pending');
      assert.notEqual(waiting.validation[0].dns.value, v.dns.value, 'with a fresh token');
      assert.deepEqual(waiting.actions, ['verify', 'withdraw', 'revoke', 'download']);
      assert.ok((await downloaded()).startsWith(second.certificate.pem.trim()), 'the current certificate stays downloadable meanwhile');
      const withdrawn = await expectOk(alice.post(`/api/v1/instances/${id}/withdraw`));
      assert.equal(withdrawn.status, 'issued', 'withdrawing a reissue keeps the certificate');
      assert.equal(withdrawn.certificate.serial, second.certificate.serial);

      // A reissue CAA refuses fails with the cause; the names stay, the key may change, and a resubmission issues.
      await dns.addRecord('renew.example.com', 'CAA', '0 issue "other-ca.example"');
      // The withdrawn reissue left the name's new token to prove.
      const refused = await proveAgain(await expectOk(alice.post(`/api/v1/instances/${id}/reissue`, { csr: { mode: 'auto', keyAlgorithm: 'rsa-2048' } })));
      assert.equal(refused.status, 'validation_failed', JSON.stringify(refused.validation));
      assert.match(refused.failureReason, /other-ca\.example/);
      const locked = await expectError(alice.put(`/api/v1/instances/${id}/application`, { domains: ['elsewhere.example.net'], csr: { mode: 'auto' }, contact }), 409, 'NAMES_LOCKED');
      assert.match(locked.message, /holds a certificate for renew\.example\.com/);
      await dns.removeRecords('renew.example.com', 'CAA');
      const third = await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      assert.equal(third.status, 'issued', JSON.stringify(third.validation));
      assert.equal(third.certificate.keyAlgorithm, 'RSA 2048');

      // During a reissue the certificate held stays revocable; withdrawing the reissue then leaves the instance revoked.
      await makeStale();
      await service.sql('UPDATE instances SET created_at = ? WHERE id = ?', [new Date(Date.now() - 365 * 86400_000 + 2 * 86400_000).toISOString(), id]);
      const lastDays = await expectOk(alice.post(`/api/v1/instances/${id}/reissue`, {}));
      assert.equal(lastDays.status, 'domain_verification');
      await service.sql('UPDATE instances SET created_at = ? WHERE id = ?', [new Date(Date.now() - 400 * 86400_000).toISOString(), id]);
      const termGone = await proveAgain(lastDays);
      assert.equal(termGone.status, 'validation_failed', 'the proof came after the term ended');
      assert.match(termGone.failureReason, /purchased term of instance .* ended .*buy a new instance/);
      const revoked = await expectOk(alice.post(`/api/v1/certificates/${third.certificate.id}/revoke`, { reason: 'keyCompromise' }));
      assert.equal(revoked.status, 'revoked');
      assert.equal((await expectOk(alice.get(`/api/v1/instances/${id}`))).status, 'validation_failed', 'revoked without moving the instance');
      assert.equal((await expectOk(alice.post(`/api/v1/instances/${id}/withdraw`))).status, 'revoked');
      const events = (await expectOk(alice.get(`/api/v1/instances/${id}/progress`))).events.map((e: any) => e.type);
      assert.equal(events.filter((e: string) => e === 'reissue_requested').length, 4);
      assert.equal(events.filter((e: string) => e === 'issued').length, 3);
    });

    test('revoking an instance\'s certificate takes along the certificates a reissue replaced: with the same key for the same reason, others as superseded', async () => {
      const issue = async (name: string, csr: object) => {
        const { id, verified: first } = await appliedAndVerified(name, csr);
        const second = await expectOk(alice.post(`/api/v1/instances/${id}/reissue`, {}));
        assert.equal(second.status, 'issued');
        return { id, first: first.certificate.id, second: second.certificate.id };
      };
      const certificateOf = async (id: string) => expectOk(alice.get(`/api/v1/certificates/${id}`));

      const sameKey = await issue('samekey.example.com', { mode: 'manual', pem: createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['samekey.example.com']) });
      await expectOk(alice.post(`/api/v1/certificates/${sameKey.second}/revoke`, { reason: 'keyCompromise' }));
      assert.deepEqual([(await certificateOf(sameKey.first)).status, (await certificateOf(sameKey.first)).revocationReason], ['revoked', 'keyCompromise'], 'the same key, the same reason');

      const newKey = await issue('newkey.example.com', { mode: 'auto' });
      await expectOk(alice.post(`/api/v1/certificates/${newKey.second}/revoke`, { reason: 'cessationOfOperation' }));
      assert.equal((await expectOk(alice.get(`/api/v1/instances/${newKey.id}`))).status, 'revoked');
      assert.deepEqual([(await certificateOf(newKey.first)).status, (await certificateOf(newKey.first)).revocationReason], ['revoked', 'superseded']);
    });

    test('reissue refuses an instance whose term has ended', async () => {
      const { id, verified } = await appliedAndVerified('ended.example.com');
      assert.equal(verified.status, 'issued');
      await service.sql('UPDATE instances SET created_at = ? WHERE id = ?', [new Date(Date.now() - 400 * 86400_000).toISOString(), id]);
      const ended = await expectError(alice.post(`/api/v1/instances/${id}/reissue`, {}), 409, 'TERM_ENDED');
      assert.match(ended.message, /buy a new instance/);
    });

    test('withdraw before issuance keeps the application for editing', async () => {
      const id = await grant(admin, 'alice@example.com', 'dv', 'multi', 3);
      await expectOk(alice.put(`/api/v1/instances/${id}/application`, { domains: 'a.example.com\nb.example.com', csr: { mode: 'auto' }, contact }));
      await expectOk(alice.post(`/api/v1/instances/${id}/submit`));
      const withdrawn = await expectOk(alice.post(`/api/v1/instances/${id}/withdraw`));
      assert.equal(withdrawn.status, 'pending_application');
      assert.deepEqual(withdrawn.application.domains.map((d: any) => d.name), ['a.example.com', 'b.example.com']);
      await expectError(alice.post(`/api/v1/instances/${id}/withdraw`), 409, 'INVALID_STATE');
      const list = await expectOk(alice.get('/api/v1/instances?status=pending_application'));
      assert.ok(list.items.some((i: any) => i.id === id));
    });
  });
}
