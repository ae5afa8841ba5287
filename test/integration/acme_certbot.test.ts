/**
 * certbot (the Debian package) against a real `certdesk serve`: http-01 with
 * its standalone server, a wildcard over dns-01 through the rfc2136 plugin
 * updating a real bind9, a forced renewal and a revocation; all with EAB.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertIssuedInstance, eabKey, verifyWithOpenssl } from '../support/acme.js';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { grant, run } from '../support/flows.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

const tsig = { name: 'certbot-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };

for (const backend of await backends()) {
  describe(`certbot against the ACME endpoint (${backend})`, () => {
    let dns: Bind9Server;
    let service: CertdeskProcess;
    let admin: ApiClient;
    let alice: ApiClient;
    let httpPort: number;
    let common: string[];
    const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-certbot-'));
    const live = (name: string, file: string) => readFileSync(path.join(dir, 'config', 'live', name, file), 'utf8');
    const certbot = (args: string[]) => run('certbot', [...args, ...common], { timeout: 90_000 });

    before(async () => {
      dns = await startBind9({ zones: ['example.com'], tsig });
      httpPort = await freePort();
      service = await startCertdesk({ backend, resolvers: [dns.address], dcvHttpPort: httpPort });
      admin = await service.user('ops@example.com', 'admin');
      alice = await service.user('alice@example.com', 'subscriber');
      await dns.addRecord('www.example.com', 'A', '127.0.0.1');
      const eab = await eabKey(service, 'alice@example.com');
      common = [
        '--non-interactive', '--agree-tos', '-m', 'alice@example.com',
        '--server', `${service.url}/acme/directory`,
        '--eab-kid', eab.kid, '--eab-hmac-key', eab.hmac,
        '--config-dir', path.join(dir, 'config'), '--work-dir', path.join(dir, 'work'), '--logs-dir', path.join(dir, 'logs'),
      ];
    });

    after(async () => {
      await service?.stop();
      await dns?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('certonly --standalone (http-01), renew --force-renewal, revoke', async (t) => {
      if (!requireTool(t, 'certbot') || !requireTool(t, 'openssl')) return;
      await grant(admin, 'alice@example.com', 'dv', 'single');
      await grant(admin, 'alice@example.com', 'dv', 'single');
      await certbot(['certonly', '--standalone', '--preferred-challenges', 'http', '--http-01-port', String(httpPort), '--http-01-address', '127.0.0.1', '-d', 'www.example.com', '--cert-name', 'www']);
      const first = live('www', 'cert.pem');
      assert.match(await verifyWithOpenssl(alice, first, dir, live('www', 'chain.pem')), /DNS:www\.example\.com/);
      await assertIssuedInstance(alice, 'www.example.com');

      await certbot(['renew', '--force-renewal', '--no-random-sleep-on-renew', '--cert-name', 'www']);
      const renewed = live('www', 'cert.pem');
      assert.notEqual(renewed, first, 'renewal brought a new certificate');
      await verifyWithOpenssl(alice, renewed, dir, live('www', 'chain.pem'));
      const issued = await alice.get('/api/v1/instances?status=issued&domain=www.example.com');
      assert.equal(issued.body.total, 2, 'the renewal drew on the second instance');

      await certbot(['revoke', '--cert-path', path.join(dir, 'config', 'live', 'www', 'cert.pem'), '--reason', 'keycompromise', '--no-delete-after-revoke']);
      const revoked = await alice.get('/api/v1/instances?status=revoked&domain=www.example.com');
      assert.equal(revoked.body.total, 1, JSON.stringify(revoked.body));
    });

    test('certonly with dns-rfc2136 for a wildcard (dns-01)', async (t) => {
      if (!requireTool(t, 'certbot') || !requireTool(t, 'openssl')) return;
      await grant(admin, 'alice@example.com', 'dv', 'wildcard');
      const credentials = path.join(dir, 'rfc2136.ini');
      writeFileSync(
        credentials,
        `dns_rfc2136_server = 127.0.0.1\ndns_rfc2136_port = ${dns.port}\ndns_rfc2136_name = ${tsig.name}\ndns_rfc2136_secret = ${tsig.secret}\ndns_rfc2136_algorithm = HMAC-SHA256\n`,
        { mode: 0o600 },
      );
      await certbot(['certonly', '--authenticator', 'dns-rfc2136', '--dns-rfc2136-credentials', credentials, '--dns-rfc2136-propagation-seconds', '1', '-d', '*.example.com', '--cert-name', 'wild']);
      assert.match(await verifyWithOpenssl(alice, live('wild', 'cert.pem'), dir, live('wild', 'chain.pem')), /DNS:\*\.example\.com/);
      await assertIssuedInstance(alice, '*.example.com');
    });
  });
}
