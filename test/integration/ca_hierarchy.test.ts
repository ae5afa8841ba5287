/**
 * The CA hierarchy a first start creates: RSA when asked, URLs under
 * --public-url, and the same hierarchy and data after a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startCertdesk } from '../support/certdesk.js';
import { expectOk, run } from '../support/flows.js';
import { requireTool } from '../support/tools.js';

test('an RSA hierarchy under the public URL survives a restart unchanged', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'certdesk-ca-'));
  const args = ['--ca-key', 'rsa', '--public-url', 'https://certs.example.net'];
  try {
    const first = await startCertdesk({ dataDir, extraArgs: args });
    const root = (await first.anonymous().get('/ca/root.pem')).body as string;
    const intermediate = (await first.anonymous().get('/ca/intermediate.pem')).body as string;
    const admin = await first.user('ops@example.com', 'admin');
    const hierarchy = await expectOk(admin.get('/api/v1/ca'));
    assert.equal(hierarchy.root.keyAlgorithm, 'RSA 4096');
    assert.equal(hierarchy.intermediate.keyAlgorithm, 'RSA 3072');
    await first.stop();

    const file = path.join(dataDir, 'intermediate.pem');
    writeFileSync(file, intermediate);
    const { stdout } = await run('openssl', ['x509', '-in', file, '-noout', '-text']);
    assert.match(stdout, /CA Issuers - URI:https:\/\/certs\.example\.net\/ca\/root\.crt/);
    assert.match(stdout, /URI:https:\/\/certs\.example\.net\/ca\/root\.crl/);
    assert.match(stdout, /CA:TRUE, pathlen:0/);

    const second = await startCertdesk({ dataDir, extraArgs: args });
    try {
      assert.equal((await second.anonymous().get('/ca/root.pem')).body, root, 'the root is kept');
      assert.doesNotMatch(second.output(), /log in:\s+admin@certdesk\.local \//, 'the admin password is printed only on first start');
      const admin2 = await second.user('ops2@example.com', 'admin');
      const users = await expectOk(admin2.get('/api/v1/users'));
      assert.ok(users.items.some((u: any) => u.email === 'ops@example.com'), 'data written before the restart is there');
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
