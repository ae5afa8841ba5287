/**
 * lego (the Debian package) against a real `certdesk serve` with EAB:
 * http-01 and tls-alpn-01 with lego's own servers on the service's check
 * ports, and dns-01 through lego's rfc2136 provider updating a real bind9.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertIssuedInstance, eabKey, verifyWithOpenssl } from '../support/acme.js';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { grant, run } from '../support/flows.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

for (const backend of await backends()) {
  describe(`lego against the ACME endpoint (${backend})`, () => {
    let dns: Bind9Server;
    let service: CertdeskProcess;
    let admin: ApiClient;
    let alice: ApiClient;
    let httpPort: number;
    let tlsPort: number;
    const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-lego-'));

    /** One lego run in its own folder (its own account, registered with a fresh EAB key). */
    async function lego(name: string, domain: string, challengeArgs: string[], env: Record<string, string> = {}): Promise<{ cert: string; issuer: string }> {
      const eab = await eabKey(service, 'alice@example.com');
      const folder = path.join(dir, name);
      await run('lego', ['--accept-tos', '--email', 'alice@example.com', '--server', `${service.url}/acme/directory`, '--eab', '--kid', eab.kid, '--hmac', eab.hmac, '--path', folder, '--domains', domain, ...challengeArgs, 'run'], {
        timeout: 90_000,
        env: { ...process.env, ...env },
      });
      const base = path.join(folder, 'certificates', domain.replace('*', '_'));
      return { cert: readFileSync(`${base}.crt`, 'utf8'), issuer: readFileSync(`${base}.issuer.crt`, 'utf8') };
    }

    before(async () => {
      dns = await startBind9({ zones: ['example.net'] });
      httpPort = await freePort();
      tlsPort = await freePort();
      service = await startCertdesk({ backend, resolvers: [dns.address], dcvHttpPort: httpPort, extraArgs: ['--dcv-tls-port', String(tlsPort)] });
      admin = await service.user('ops@example.com', 'admin');
      alice = await service.user('alice@example.com', 'subscriber');
      for (const name of ['http.example.net', 'tls.example.net']) await dns.addRecord(name, 'A', '127.0.0.1');
    });

    after(async () => {
      await service?.stop();
      await dns?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('http-01', async (t) => {
      if (!requireTool(t, 'lego') || !requireTool(t, 'openssl')) return;
      await grant(admin, 'alice@example.com', 'dv', 'single');
      const { cert, issuer } = await lego('http', 'http.example.net', ['--http', '--http.port', `127.0.0.1:${httpPort}`]);
      assert.match(await verifyWithOpenssl(alice, cert, dir, issuer), /DNS:http\.example\.net/);
      await assertIssuedInstance(alice, 'http.example.net');
    });

    test('tls-alpn-01', async (t) => {
      if (!requireTool(t, 'lego') || !requireTool(t, 'openssl')) return;
      await grant(admin, 'alice@example.com', 'dv', 'single');
      const { cert, issuer } = await lego('tls', 'tls.example.net', ['--tls', '--tls.port', `127.0.0.1:${tlsPort}`]);
      assert.match(await verifyWithOpenssl(alice, cert, dir, issuer), /DNS:tls\.example\.net/);
      await assertIssuedInstance(alice, 'tls.example.net');
    });

    test('dns-01 through the rfc2136 provider, for a wildcard', async (t) => {
      if (!requireTool(t, 'lego') || !requireTool(t, 'openssl')) return;
      await grant(admin, 'alice@example.com', 'dv', 'wildcard');
      const { cert, issuer } = await lego('dns', '*.example.net', ['--dns', 'rfc2136', '--dns.resolvers', dns.address, '--dns.disable-cp'], {
        RFC2136_NAMESERVER: dns.address,
        RFC2136_PROPAGATION_TIMEOUT: '20',
        RFC2136_POLLING_INTERVAL: '1',
        RFC2136_TTL: '1',
      });
      assert.match(await verifyWithOpenssl(alice, cert, dir, issuer), /DNS:\*\.example\.net/);
      await assertIssuedInstance(alice, '*.example.net');
    });
  });
}
