/**
 * The PKCS#10 reader walks DER by hand, so these CSRs are written byte by
 * byte with the DER writer: string types and extension shapes that
 * certdesk's own createCsr never produces, and structures that must be refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { CertdeskError } from '../../src/errors.js';
import { parseCsr } from '../../src/pki/csr.js';
import { derNode, encodeDer, oidDer, oidText, TAG, type DerNode } from '../../src/pki/der.js';
import { subjectAltNameValue } from '../../src/pki/extensions.js';
import { toPem } from '../../src/pki/pem.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const CN = '2.5.4.3';
const O = '2.5.4.10';
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SAN = '2.5.29.17';

const rdn = (type: string, tag: number, bytes: Uint8Array): DerNode => derNode(0x31, derNode(TAG.sequence, oidDer(type), derNode(tag, bytes)));
const extension = (id: string, value: Uint8Array, critical?: boolean): DerNode =>
  derNode(TAG.sequence, oidDer(id), ...(critical === undefined ? [] : [derNode(0x01, Buffer.from([critical ? 0xff : 0]))]), derNode(TAG.octetString, value));
const extensionRequest = (...extensions: DerNode[]): DerNode => derNode(TAG.sequence, oidDer(EXTENSION_REQUEST), derNode(0x31, derNode(TAG.sequence, ...extensions)));

function csr(subject: DerNode[], attributes: DerNode[] | null, options: { unusedBits?: number } = {}): string {
  const info = encodeDer(derNode(TAG.sequence, derNode(TAG.integer, Buffer.from([0])), derNode(TAG.sequence, ...subject), spki, ...(attributes === null ? [] : [derNode(0xa0, ...attributes)])));
  const signature = sign('sha256', info, privateKey);
  return toPem(encodeDer(derNode(TAG.sequence, info, derNode(TAG.sequence, oidDer(ECDSA_SHA256)), derNode(TAG.bitString, Buffer.from([options.unusedBits ?? 0]), signature))), 'CERTIFICATE REQUEST');
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CertdeskError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('oidText', () => {
  test('reads back what oidDer writes, small and multi-byte arcs alike', () => {
    for (const oid of ['2.5.4.3', '1.2.840.113549.1.9.14', '1.3.6.1.4.1.311.60.2.1.3', '2.16.840.1.101.3.4.2.1', '2.999.1', '0.9.2342.19200300.100.1.25']) {
      const der = oidDer(oid);
      assert.equal(oidText(der.subarray(2)), oid);
    }
  });

  test('refuses empty content and a last byte that promises more', () => {
    assert.throws(() => oidText(Buffer.alloc(0)), RangeError);
    assert.throws(() => oidText(Buffer.from([0x2a, 0x86])), RangeError);
  });
});

describe('parseCsr on hand-written DER', () => {
  test('reads the common name in every DirectoryString form, and ignores other attributes', () => {
    const forms: [number, Buffer, string][] = [
      [0x0c, Buffer.from('www.example.com', 'utf8'), 'www.example.com'],
      [0x13, Buffer.from('www.example.com', 'latin1'), 'www.example.com'],
      [0x16, Buffer.from('www.example.com', 'latin1'), 'www.example.com'],
      [0x1e, Buffer.from('bücher.example', 'utf16le').swap16(), 'bücher.example'],
      [0x1c, Buffer.from([0, 0, 0, 0x61, 0, 0, 0, 0x2e, 0, 0, 0, 0x62]), 'a.b'],
    ];
    for (const [tag, bytes, text] of forms) {
      const parsed = parseCsr(csr([rdn(O, 0x0c, Buffer.from('Example Ltd')), rdn(CN, tag, bytes)], []));
      assert.equal(parsed.commonName, text, `tag ${tag}`);
      assert.equal(parsed.signatureValid, true);
    }
  });

  test('reads the SAN with or without the critical flag, beside other requested extensions', () => {
    const san = subjectAltNameValue(['www.example.com', 'example.com'], ['192.0.2.9']);
    const keyUsage = Buffer.from('03020780', 'hex');
    for (const critical of [undefined, true, false]) {
      const parsed = parseCsr(csr([], [extensionRequest(extension('2.5.29.15', keyUsage, true), extension(SAN, san, critical))]));
      assert.deepEqual(parsed.dnsNames, ['www.example.com', 'example.com']);
      assert.deepEqual(parsed.ipAddresses, ['192.0.2.9']);
      assert.equal(parsed.commonName, undefined);
    }
  });

  test('a CSR without the attributes field or with an unrelated attribute asks for no names', () => {
    const challengePassword = derNode(TAG.sequence, oidDer('1.2.840.113549.1.9.7'), derNode(0x31, derNode(0x0c, Buffer.from('secret'))));
    for (const attributes of [null, [], [challengePassword]]) {
      const parsed = parseCsr(csr([rdn(CN, 0x0c, Buffer.from('www.example.com'))], attributes));
      assert.deepEqual(parsed.dnsNames, []);
      assert.equal(parsed.commonName, 'www.example.com');
    }
  });

  test('refuses broken structures with CSR_INVALID', () => {
    const good = csr([rdn(CN, 0x0c, Buffer.from('www.example.com'))], []);
    const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const pem = (bytes: Buffer) => toPem(bytes, 'CERTIFICATE REQUEST');
    assert.equal(codeOf(() => parseCsr(pem(Buffer.concat([der, Buffer.from([0])])))), 'CSR_INVALID', 'trailing bytes');
    assert.equal(codeOf(() => parseCsr(pem(Buffer.from([0x31, ...der.subarray(1)])))), 'CSR_INVALID', 'outer SET');
    assert.equal(codeOf(() => parseCsr(pem(der.subarray(0, der.length - 3)))), 'CSR_INVALID', 'truncated');
    assert.equal(codeOf(() => parseCsr(csr([rdn(CN, 0x0c, Buffer.from('x'))], [], { unusedBits: 3 }))), 'CSR_INVALID', 'unused signature bits');
    const notAnRdn = derNode(TAG.sequence, oidDer(CN));
    assert.equal(codeOf(() => parseCsr(csr([notAnRdn], []))), 'CSR_INVALID', 'RDN not a SET');
    const sanNotSequence = extensionRequest(extension(SAN, Buffer.from('0400', 'hex')));
    assert.equal(codeOf(() => parseCsr(csr([], [sanNotSequence]))), 'CSR_INVALID', 'SAN not GeneralNames');
    const oddBmp = rdn(CN, 0x1e, Buffer.from([0, 0x61, 0]));
    assert.equal(codeOf(() => parseCsr(csr([oddBmp], []))), 'CSR_INVALID', 'odd BMPString');
  });

  test('two common names are refused', () => {
    assert.equal(codeOf(() => parseCsr(csr([rdn(CN, 0x0c, Buffer.from('a.example')), rdn(CN, 0x0c, Buffer.from('b.example'))], []))), 'CSR_INVALID');
  });
});
