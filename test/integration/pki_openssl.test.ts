import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueLeaf, type LeafParams } from '../../src/pki/certificate.js';
import { buildCrl } from '../../src/pki/crl.js';
import { checkCsr, createCsr } from '../../src/pki/csr.js';
import { buildJks } from '../../src/pki/jks.js';
import { generateKeyPair, type KeyAlgorithm } from '../../src/pki/keys.js';
import { fromPem } from '../../src/pki/pem.js';
import { buildPfx } from '../../src/pki/pkcs12.js';
import { bmpPassword, PKCS12_KEY_ID, pkcs12Kdf } from '../../src/pki/pkcs12_kdf.js';
import { randomSerial, serialHex } from '../../src/pki/serial.js';
import { testHierarchy, type TestHierarchy } from '../support/test_ca.js';
import { requireTool } from '../support/tools.js';

const DAY = 86_400_000;
/** Validity starts slightly in the past so `openssl verify` (which uses the real clock) accepts the chain. */
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'certdesk-pki-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Runs a real program; returns its exit status and combined output. */
function run(program: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(program, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function mustRun(program: string, args: string[]): string {
  const { status, output } = run(program, args);
  assert.equal(status, 0, `${program} ${args.join(' ')} failed:\n${output}`);
  return output;
}

const hierarchy = (rootAlg: KeyAlgorithm, intermediateAlg: KeyAlgorithm): TestHierarchy => testHierarchy(rootAlg, intermediateAlg, { organization: 'Certdesk Test', notBefore: NOW });

function leaf(h: TestHierarchy, subjectPublicKeyDer: Buffer, overrides: Partial<LeafParams> = {}) {
  return issueLeaf({
    serial: randomSerial(),
    level: 'dv',
    dnsNames: ['www.example.com', 'example.com'],
    ipAddresses: ['192.0.2.10'],
    subjectPublicKeyDer,
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + 90 * DAY),
    issuer: h.intermediate,
    aiaIssuerUrl: 'http://ca.test/intermediate.crt',
    crlUrl: 'http://ca.test/intermediate.crl',
    ...overrides,
  });
}

const needs = (t: TestContext, ...tools: string[]) => tools.every((tool) => requireTool(t, tool));

describe('certificates against openssl', () => {
  for (const [name, rootAlg, intermediateAlg, leafAlg] of [
    ['ECDSA', 'ecdsa-p384', 'ecdsa-p256', 'ecdsa-p256'],
    ['RSA', 'rsa-4096', 'rsa-2048', 'rsa-2048'],
  ] as const) {
    test(`${name}: openssl verify accepts root -> intermediate -> leaf; x509 -text shows the profile`, (t) => {
      if (!needs(t, 'openssl')) return;
      const h = hierarchy(rootAlg, intermediateAlg);
      const key = generateKeyPair(leafAlg);
      const ov = leaf(h, key.publicKey.export({ type: 'spki', format: 'der' }), {
        level: 'ov',
        organization: { name: 'Example Ltd', locality: 'Hangzhou', state: 'Zhejiang', country: 'CN' },
      });
      const root = file(`${name}-root.pem`, h.rootPem);
      const intermediate = file(`${name}-intermediate.pem`, h.intermediatePem);
      const leafPath = file(`${name}-leaf.pem`, ov.pem);
      assert.match(mustRun('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', root, '-untrusted', intermediate, leafPath]), /: OK/);

      const text = mustRun('openssl', ['x509', '-in', leafPath, '-noout', '-text']);
      assert.match(text, /Policy: 2\.23\.140\.1\.2\.2/);
      assert.match(text, /CA Issuers - URI:http:\/\/ca\.test\/intermediate\.crt/);
      assert.match(text, /X509v3 CRL Distribution Points:\s+Full Name:\s+URI:http:\/\/ca\.test\/intermediate\.crl/);
      assert.match(text, /DNS:www\.example\.com, DNS:example\.com, IP Address:192\.0\.2\.10/);
      assert.match(text, /TLS Web Server Authentication\n/);
      assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, name === 'RSA' ? /Key Usage: critical\s+Digital Signature, Key Encipherment/ : /Key Usage: critical\s+Digital Signature\n/);

      const caText = mustRun('openssl', ['x509', '-in', intermediate, '-noout', '-text']);
      assert.match(caText, /CA:TRUE, pathlen:0/);
      assert.match(caText, /Certificate Sign, CRL Sign/);
    });
  }

  test('a leaf from another hierarchy fails openssl verify', (t) => {
    if (!needs(t, 'openssl')) return;
    const a = hierarchy('ecdsa-p256', 'ecdsa-p256');
    const b = hierarchy('ecdsa-p256', 'ecdsa-p256');
    const key = generateKeyPair('ecdsa-p256');
    const leafPath = file('foreign-leaf.pem', leaf(b, key.publicKey.export({ type: 'spki', format: 'der' })).pem);
    const result = run('openssl', ['verify', '-CAfile', file('a-root.pem', a.rootPem), '-untrusted', file('a-int.pem', a.intermediatePem), leafPath]);
    assert.notEqual(result.status, 0);
  });
});

describe('CSRs against openssl', () => {
  test('openssl req -verify accepts createCsr output and sees the SAN', (t) => {
    if (!needs(t, 'openssl')) return;
    for (const alg of ['ecdsa-p256', 'rsa-2048'] as const) {
      const key = generateKeyPair(alg);
      const csr = file(`created-${alg}.csr`, createCsr(key.privateKeyPem, ['www.example.com', 'example.com', '2001:db8::1']));
      const output = mustRun('openssl', ['req', '-in', csr, '-verify', '-noout', '-text']);
      assert.match(output, /verify OK/);
      assert.match(output, /Subject: CN\s?=\s?www\.example\.com/);
      assert.match(output, /DNS:www\.example\.com, DNS:example\.com, IP Address:2001:DB8:0:0:0:0:0:1/);
    }
  });

  test('checkCsr accepts a CSR made by openssl req -new', async (t) => {
    if (!needs(t, 'openssl')) return;
    const keyPath = join(dir, 'openssl-ec.key');
    const csrPath = join(dir, 'openssl-ec.csr');
    mustRun('openssl', [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath,
      '-subj', '/CN=www.example.com', '-addext', 'subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.5',
    ]);
    const csr = await checkCsr(readFileSync(csrPath, 'utf8'), ['www.example.com', 'example.com', '192.0.2.5']);
    assert.equal(csr.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.deepEqual(csr.ipAddresses, ['192.0.2.5']);
    const key = mustRun('openssl', ['pkey', '-in', keyPath, '-pubout', '-outform', 'DER', '-out', join(dir, 'openssl-ec.spki')]);
    assert.equal(key, '');
    assert.deepEqual(csr.spkiDer, readFileSync(join(dir, 'openssl-ec.spki')));
  });
});

describe('CRLs against openssl', () => {
  test('openssl crl lists the revoked serial with its reason and verifies the signature', (t) => {
    if (!needs(t, 'openssl')) return;
    const h = hierarchy('ecdsa-p384', 'ecdsa-p256');
    const revoked = randomSerial();
    const der = buildCrl({
      issuer: h.intermediate,
      entries: [
        { serial: revoked, revokedAt: NOW, reason: 'keyCompromise' },
        { serial: randomSerial(), revokedAt: NOW, reason: 'unspecified' },
      ],
      thisUpdate: NOW,
      nextUpdate: new Date(NOW.getTime() + 7 * DAY),
      crlNumber: 42n,
    });
    const crl = file('intermediate.crl', der);
    const text = mustRun('openssl', ['crl', '-inform', 'DER', '-in', crl, '-noout', '-text']);
    assert.match(text, new RegExp(`Serial Number: ${serialHex(revoked).toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    assert.match(text, /X509v3 CRL Number:\s+42/);
    assert.match(text, /Version 2/);

    const chain = file('crl-chain.pem', h.intermediatePem + h.rootPem);
    assert.match(mustRun('openssl', ['crl', '-inform', 'DER', '-in', crl, '-CAfile', chain, '-noout', '-verify']), /verify OK/);

    const other = hierarchy('ecdsa-p256', 'ecdsa-p256');
    const wrongChain = file('crl-wrong-chain.pem', other.intermediatePem + other.rootPem);
    const wrong = run('openssl', ['crl', '-inform', 'DER', '-in', crl, '-CAfile', wrongChain, '-noout', '-verify']);
    assert.doesNotMatch(wrong.output, /verify OK/);
  });
});

describe('PKCS#12 and JKS against openssl and keytool', () => {
  const h = hierarchy('ecdsa-p384', 'ecdsa-p256');
  const key = generateKeyPair('ecdsa-p256');
  const issued = leaf(h, key.publicKey.export({ type: 'spki', format: 'der' }));
  const chainPem = [issued.pem, h.intermediatePem, h.rootPem];

  test('openssl pkcs12 -info opens the PFX with key and chain, without -legacy; a wrong password fails', (t) => {
    if (!needs(t, 'openssl')) return;
    const pfx = file('bundle.pfx', buildPfx({ chainPem, privateKeyPem: key.privateKeyPem, password: 'pfx-Secret', friendlyName: 'www.example.com' }));
    const output = mustRun('openssl', ['pkcs12', '-info', '-in', pfx, '-nodes', '-passin', 'pass:pfx-Secret']);
    assert.match(output, /MAC: sha256/);
    assert.match(output, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    assert.match(output, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC/);
    assert.equal(output.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
    assert.match(output, /friendlyName: www\.example\.com/);
    assert.match(output, /-----BEGIN PRIVATE KEY-----/);

    // The key inside is the subscriber's key.
    const extracted = mustRun('openssl', ['pkcs12', '-in', pfx, '-nocerts', '-nodes', '-passin', 'pass:pfx-Secret']);
    const extractedPub = mustRun('openssl', ['pkey', '-in', file('extracted.key', extracted), '-pubout']);
    assert.equal(extractedPub, key.publicKey.export({ type: 'spki', format: 'pem' }));

    const wrong = run('openssl', ['pkcs12', '-info', '-in', pfx, '-nodes', '-passin', 'pass:wrong']);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.output, /Mac verify error/);
  });

  test('the PFX MAC key derivation equals OpenSSL\'s PKCS12KDF for random passwords and salts', (t) => {
    if (!needs(t, 'openssl')) return;
    for (const password of ['pfx-Secret', 'Zz9-' + randomBytes(6).toString('base64url'), 'pässwörd']) {
      const salt = randomBytes(16);
      const ours = pkcs12Kdf({ password, salt, id: PKCS12_KEY_ID.mac, iterations: 2048, size: 32, hash: 'sha256' });
      const theirs = mustRun('openssl', ['kdf', '-keylen', '32', '-kdfopt', 'digest:SHA256', '-kdfopt', `hexpass:${bmpPassword(password).toString('hex')}`, '-kdfopt', `hexsalt:${salt.toString('hex')}`, '-kdfopt', 'iter:2048', '-kdfopt', 'id:3', 'PKCS12KDF']);
      assert.equal(ours.toString('hex'), theirs.replace(/[^0-9A-F]/g, '').toLowerCase(), password);
    }
  });

  test('a PFX without a key holds only the certificates', (t) => {
    if (!needs(t, 'openssl')) return;
    const pfx = file('certs-only.pfx', buildPfx({ chainPem, password: 'pfx-Secret', friendlyName: 'www.example.com' }));
    const output = mustRun('openssl', ['pkcs12', '-info', '-in', pfx, '-nodes', '-passin', 'pass:pfx-Secret']);
    assert.equal(output.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
    assert.doesNotMatch(output, /PRIVATE KEY|Keybag/);
    assert.notEqual(run('openssl', ['pkcs12', '-info', '-in', pfx, '-nodes', '-passin', 'pass:wrong']).status, 0);
  });

  test('keytool lists the JKS PrivateKeyEntry with its chain, recovers the key, and rejects a wrong password', (t) => {
    if (!needs(t, 'keytool', 'openssl')) return;
    const chainDer = chainPem.map((pem) => fromPem(pem, 'CERTIFICATE'));
    const jks = file('bundle.jks', buildJks({ alias: 'www', privateKeyPem: key.privateKeyPem, chainDer, password: 'jks-Secret', now: NOW }));
    const listing = mustRun('keytool', ['-list', '-v', '-keystore', jks, '-storepass', 'jks-Secret', '-storetype', 'JKS']);
    assert.match(listing, /Keystore type: JKS/);
    assert.match(listing, /Alias name: www/);
    assert.match(listing, /Entry type: PrivateKeyEntry/);
    assert.match(listing, /Certificate chain length: 3/);
    assert.match(listing, /Your keystore contains 1 entry/);

    // Exporting the entry makes Java decrypt the key with Sun's key protector.
    const p12 = join(dir, 'from-jks.p12');
    mustRun('keytool', [
      '-importkeystore', '-srckeystore', jks, '-srcstoretype', 'JKS', '-srcstorepass', 'jks-Secret', '-srcalias', 'www', '-srckeypass', 'jks-Secret',
      '-destkeystore', p12, '-deststoretype', 'PKCS12', '-deststorepass', 'p12-Secret', '-noprompt',
    ]);
    const recovered = mustRun('openssl', ['pkcs12', '-in', p12, '-nocerts', '-nodes', '-passin', 'pass:p12-Secret']);
    assert.equal(mustRun('openssl', ['pkey', '-in', file('recovered.key', recovered), '-pubout']), key.publicKey.export({ type: 'spki', format: 'pem' }));

    const wrong = run('keytool', ['-list', '-keystore', jks, '-storepass', 'wrong-pass', '-storetype', 'JKS']);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.output, /password was incorrect/);
  });

  test('keytool lists one trustedCertEntry per certificate when there is no key', (t) => {
    if (!needs(t, 'keytool')) return;
    const chainDer = chainPem.map((pem) => fromPem(pem, 'CERTIFICATE'));
    const jks = file('trust.jks', buildJks({ alias: 'www', chainDer, password: 'jks-Secret', now: NOW }));
    const listing = mustRun('keytool', ['-list', '-keystore', jks, '-storepass', 'jks-Secret', '-storetype', 'JKS']);
    assert.match(listing, /Your keystore contains 3 entries/);
    for (const alias of ['www', 'www-1', 'www-2']) assert.match(listing, new RegExp(`^${alias}, .*trustedCertEntry`, 'm'));
    assert.notEqual(run('keytool', ['-list', '-keystore', jks, '-storepass', 'wrong-pass', '-storetype', 'JKS']).status, 0);
  });
});
