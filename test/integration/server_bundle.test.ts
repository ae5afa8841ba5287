import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServerBundle, bundleBaseName, type ServerType } from '../../src/bundle/server_bundle.js';
import { issueLeaf } from '../../src/pki/certificate.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { randomSerial } from '../../src/pki/serial.js';
import { testHierarchy } from '../support/test_ca.js';
import { requireTool } from '../support/tools.js';

const DAY = 86_400_000;

/** A throwaway root → intermediate → leaf for *.example.test, valid now (openssl verifies against the real time). */
function throwawayChain() {
  const now = new Date();
  const { rootPem, intermediatePem, intermediate } = testHierarchy('ecdsa-p384', 'ecdsa-p256');
  const leafKey = generateKeyPair('rsa-2048');
  const leaf = issueLeaf({
    serial: randomSerial(),
    level: 'dv',
    dnsNames: ['*.example.test', 'example.test'],
    ipAddresses: [],
    subjectPublicKeyDer: leafKey.publicKey.export({ type: 'spki', format: 'der' }),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 90 * DAY),
    issuer: intermediate,
    aiaIssuerUrl: 'http://ca.example.test/issuing.cer',
    crlUrl: 'http://ca.example.test/issuing.crl',
  });
  return { now, rootPem, intermediatePem, leafPem: leaf.pem, leafKeyPem: leafKey.privateKeyPem };
}

function run(program: string, args: string[]): string {
  return execFileSync(program, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('server bundles opened by unzip, openssl and keytool', () => {
  const chain = throwawayChain();
  const base = bundleBaseName('*.example.test');
  let work: string;
  let rootFile: string;
  let leafFile: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'certdesk-bundle-'));
    rootFile = join(work, 'root.pem');
    writeFileSync(rootFile, chain.rootPem);
    leafFile = join(work, 'leaf.pem');
    writeFileSync(leafFile, chain.leafPem);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** Builds the bundle, unzips it with the real unzip into its own folder and returns that folder. */
  function unzipped(t: TestContext, server: ServerType, withKey: boolean): { dir: string; bundle: ReturnType<typeof buildServerBundle> } | undefined {
    if (!requireTool(t, 'unzip') || !requireTool(t, 'openssl')) return undefined;
    const bundle = buildServerBundle({
      server,
      baseName: base,
      leafPem: chain.leafPem,
      chainPems: [chain.intermediatePem],
      ...(withKey ? { privateKeyPem: chain.leafKeyPem } : {}),
      now: chain.now,
    });
    const dir = join(work, `${server}-${withKey ? 'key' : 'nokey'}`);
    const zipFile = `${dir}.zip`;
    writeFileSync(zipFile, bundle.zip);
    run('unzip', ['-q', zipFile, '-d', dir]);
    assert.deepEqual(readdirSync(dir).sort(), bundle.files.map((f) => f.name).sort(), 'the zip holds exactly the files it is described with');
    return { dir, bundle };
  }

  function assertKeyMatchesCertificate(certFile: string, keyFile: string): void {
    assert.equal(run('openssl', ['x509', '-noout', '-pubkey', '-in', certFile]), run('openssl', ['pkey', '-pubout', '-in', keyFile]));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'unzip restores the key file as readable by its owner only');
  }

  function passwordFile(dir: string, name: string, expected: string | undefined): string {
    const password = readFileSync(join(dir, name), 'utf8').trim();
    assert.match(password, /^[A-Za-z0-9]{16,}$/);
    assert.equal(password, expected);
    return password;
  }

  test('nginx: the .pem is the leaf plus chain and verifies to the root; the .key belongs to it', (t) => {
    const result = unzipped(t, 'nginx', true);
    if (!result) return;
    const pem = join(result.dir, `${base}.pem`);
    assert.equal(run('openssl', ['verify', '-CAfile', rootFile, '-untrusted', pem, pem]).trim(), `${pem}: OK`);
    assert.match(run('openssl', ['x509', '-noout', '-subject', '-in', pem]), /CN ?= ?\*\.example\.test/, 'the leaf comes first');
    assertKeyMatchesCertificate(pem, join(result.dir, `${base}.key`));
    assert.equal(result.bundle.password, undefined);
  });

  test('apache: the certificate verifies through the chain file; the key belongs to it', (t) => {
    const result = unzipped(t, 'apache', true);
    if (!result) return;
    const cert = join(result.dir, `${base}_public.crt`);
    const chainFile = join(result.dir, `${base}_chain.crt`);
    assert.equal(run('openssl', ['verify', '-CAfile', rootFile, '-untrusted', chainFile, cert]).trim(), `${cert}: OK`);
    const withoutChain = spawnSync('openssl', ['verify', '-CAfile', rootFile, cert], { encoding: 'utf8' });
    assert.notEqual(withoutChain.status, 0, 'the chain file is what makes it verify');
    assertKeyMatchesCertificate(cert, join(result.dir, `${base}.key`));
  });

  test('other: the same PEM pair as nginx', (t) => {
    const result = unzipped(t, 'other', true);
    if (!result) return;
    assertKeyMatchesCertificate(join(result.dir, `${base}.pem`), join(result.dir, `${base}.key`));
  });

  test('iis: openssl opens the .pfx with the password from pfx-password.txt and finds key, leaf and chain', (t) => {
    const result = unzipped(t, 'iis', true);
    if (!result) return;
    const pfx = join(result.dir, `${base}.pfx`);
    const password = passwordFile(result.dir, 'pfx-password.txt', result.bundle.password);
    const info = run('openssl', ['pkcs12', '-info', '-nodes', '-in', pfx, '-passin', `pass:${password}`]);
    assert.equal(info.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    assert.match(info, /friendlyName: _\.example\.test/);
    const keyFile = join(result.dir, 'from-pfx.key');
    writeFileSync(keyFile, run('openssl', ['pkcs12', '-nocerts', '-nodes', '-in', pfx, '-passin', `pass:${password}`]));
    assert.equal(run('openssl', ['pkey', '-pubout', '-in', keyFile]), run('openssl', ['x509', '-noout', '-pubkey', '-in', leafFile]));
    const wrong = spawnSync('openssl', ['pkcs12', '-info', '-nodes', '-in', pfx, '-passin', 'pass:wrong-password'], { encoding: 'utf8' });
    assert.notEqual(wrong.status, 0, 'the password protects the file');
  });

  test('tomcat: keytool opens the .jks with the password from jks-password.txt: one key entry with a chain of 2', (t) => {
    if (!requireTool(t, 'keytool')) return;
    const result = unzipped(t, 'tomcat', true);
    if (!result) return;
    const password = passwordFile(result.dir, 'jks-password.txt', result.bundle.password);
    const list = run('keytool', ['-list', '-v', '-keystore', join(result.dir, `${base}.jks`), '-storepass', password]);
    assert.match(list, /Keystore type: JKS/i);
    assert.match(list, /Alias name: _\.example\.test/);
    assert.match(list, /Entry type: PrivateKeyEntry/);
    assert.match(list, /Certificate chain length: 2/);
    assert.match(result.bundle.files[0]!.description, /alias "_\.example\.test"/);
  });

  test('without a service-held key no .key file appears, and PFX/JKS hold certificates only', (t) => {
    const nginx = unzipped(t, 'nginx', false);
    if (!nginx) return;
    assert.deepEqual(readdirSync(nginx.dir), [`${base}.pem`]);
    const apache = unzipped(t, 'apache', false);
    assert.deepEqual(readdirSync(apache!.dir).sort(), [`${base}_chain.crt`, `${base}_public.crt`]);

    const iis = unzipped(t, 'iis', false)!;
    const pfxPassword = passwordFile(iis.dir, 'pfx-password.txt', iis.bundle.password);
    const info = run('openssl', ['pkcs12', '-info', '-nodes', '-in', join(iis.dir, `${base}.pfx`), '-passin', `pass:${pfxPassword}`]);
    assert.doesNotMatch(info, /PRIVATE KEY/);
    assert.equal(info.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);

    if (!requireTool(t, 'keytool')) return;
    const pfxList = run('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', join(iis.dir, `${base}.pfx`), '-storepass', pfxPassword]);
    assert.match(pfxList, /Your keystore contains 2 entries/, 'Java sees the certificates of a PFX without a key');
    assert.equal(pfxList.match(/trustedCertEntry/g)?.length, 2);
    const tomcat = unzipped(t, 'tomcat', false)!;
    const jksPassword = passwordFile(tomcat.dir, 'jks-password.txt', tomcat.bundle.password);
    const list = run('keytool', ['-list', '-keystore', join(tomcat.dir, `${base}.jks`), '-storepass', jksPassword]);
    assert.doesNotMatch(list, /PrivateKeyEntry/);
    assert.match(list, /trustedCertEntry/);
    assert.equal(tomcat.bundle.files.find((f) => f.name === 'jks-password.txt')?.description, 'The password of the keystore.', 'a keystore without a key entry has no key password');
  });
});
