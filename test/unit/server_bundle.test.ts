import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { unzipSync } from 'fflate';
import { buildServerBundle, bundleBaseName, describeServerBundle, SERVER_TYPES } from '../../src/bundle/server_bundle.js';
import { CertdeskError } from '../../src/errors.js';

// Stand-ins: the PEM-only bundles move certificate bytes around without parsing them.
const pem = (label: string, body: string): string => `-----BEGIN ${label}-----\n${Buffer.from(body).toString('base64')}\n-----END ${label}-----\n`;
const leafPem = pem('CERTIFICATE', 'leaf certificate');
const intermediatePem = pem('CERTIFICATE', 'intermediate certificate');
const keyPem = pem('PRIVATE KEY', 'private key');
const now = new Date('2026-03-04T10:20:30Z');

function unzip(zip: Buffer): Record<string, string> {
  return Object.fromEntries(Object.entries(unzipSync(zip)).map(([name, bytes]) => [name, Buffer.from(bytes).toString('utf8')]));
}

describe('bundleBaseName', () => {
  test('makes a common name safe to use as a file name', () => {
    assert.equal(bundleBaseName('www.example.com'), 'www.example.com');
    assert.equal(bundleBaseName('*.example.com'), '_.example.com');
    assert.equal(bundleBaseName('../etc/passwd'), '_._etc_passwd');
    assert.equal(bundleBaseName(''), 'certificate');
  });
});

describe('describeServerBundle', () => {
  test('lists each server type’s files, with the key file only when there is a key', () => {
    const names = (server: (typeof SERVER_TYPES)[number], hasKey: boolean) =>
      describeServerBundle(server, hasKey, 'example.com').map((f) => f.name);
    assert.deepEqual(names('nginx', true), ['example.com.pem', 'example.com.key']);
    assert.deepEqual(names('nginx', false), ['example.com.pem']);
    assert.deepEqual(names('apache', true), ['example.com_public.crt', 'example.com_chain.crt', 'example.com.key']);
    assert.deepEqual(names('apache', false), ['example.com_public.crt', 'example.com_chain.crt']);
    assert.deepEqual(names('iis', true), ['example.com.pfx', 'pfx-password.txt']);
    assert.deepEqual(names('tomcat', true), ['example.com.jks', 'jks-password.txt']);
    assert.deepEqual(names('other', true), ['example.com.pem', 'example.com.key']);
    for (const server of SERVER_TYPES) {
      for (const file of describeServerBundle(server, true)) assert.ok(file.description.length > 10, `${server} ${file.name} is described`);
    }
  });
});

describe('buildServerBundle (PEM bundles)', () => {
  test('nginx: the certificate followed by the chain, and the key', () => {
    const bundle = buildServerBundle({ server: 'nginx', baseName: 'www.example.com', leafPem, chainPems: [intermediatePem], privateKeyPem: keyPem, now });
    assert.deepEqual(unzip(bundle.zip), { 'www.example.com.pem': leafPem + intermediatePem, 'www.example.com.key': keyPem });
    assert.deepEqual(bundle.files, describeServerBundle('nginx', true, 'www.example.com'));
    assert.equal(bundle.password, undefined);
  });

  test('apache: certificate and chain apart; no key file without a key', () => {
    const bundle = buildServerBundle({ server: 'apache', baseName: 'example.com', leafPem: `\n  ${leafPem}`, chainPems: [intermediatePem], now });
    assert.deepEqual(unzip(bundle.zip), { 'example.com_public.crt': leafPem, 'example.com_chain.crt': intermediatePem });
  });

  test('stores the files with the time of the download and keeps the key private to its owner', () => {
    const bundle = buildServerBundle({ server: 'other', baseName: 'example.com', leafPem, chainPems: [], privateKeyPem: keyPem, now });
    const entries = centralDirectory(bundle.zip);
    assert.deepEqual(
      entries.map((e) => [e.name, e.mode.toString(8)]),
      [
        ['example.com.pem', '100644'],
        ['example.com.key', '100600'],
      ],
    );
    for (const entry of entries) {
      assert.equal(entry.dosDate, dosDate(now));
    }
  });

  test('refuses a base name that is not a plain file name and an unknown server type', () => {
    assert.throws(
      () => buildServerBundle({ server: 'nginx', baseName: '../x', leafPem, chainPems: [], now }),
      (e: unknown) => e instanceof CertdeskError && e.code === 'BUNDLE_NAME_INVALID',
    );
    assert.throws(
      () => buildServerBundle({ server: 'caddy' as 'nginx', baseName: 'x', leafPem, chainPems: [], now }),
      (e: unknown) => e instanceof CertdeskError && e.code === 'SERVER_TYPE_INVALID' && e.status === 400,
    );
    assert.throws(
      () => buildServerBundle({ server: 'nginx', baseName: 'x', leafPem: 'not a certificate', chainPems: [], now }),
      (e: unknown) => e instanceof CertdeskError && e.code === 'PEM_INVALID',
    );
  });
});

/** Reads name, Unix mode and DOS date of each entry from the zip's central directory. */
function centralDirectory(zip: Buffer): { name: string; mode: number; dosDate: number }[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: { name: string; mode: number; dosDate: number }[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(offset), 0x02014b50);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      mode: zip.readUInt32LE(offset + 38) >>> 16,
      dosDate: zip.readUInt16LE(offset + 14),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The DOS date field zip tools show; fflate writes the local calendar date. */
function dosDate(date: Date): number {
  return ((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate();
}
