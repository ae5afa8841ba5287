/** issueLeaf describes the certificate from what it signed; the description must equal parsing the certificate back. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeCertificate, issueLeaf, type LeafParams } from '../../src/pki/certificate.js';
import { generateKeyPair, type KeyAlgorithm } from '../../src/pki/keys.js';
import { randomSerial } from '../../src/pki/serial.js';
import { testHierarchy } from '../support/test_ca.js';

const NOW = new Date('2026-06-01T08:30:15.789Z');

const issuer = (intermediateAlg: KeyAlgorithm, organization: string) => testHierarchy('ecdsa-p384', intermediateAlg, { organization, notBefore: NOW }).intermediate;

const ecdsaIssuer = issuer('ecdsa-p256', 'Certdesk, Unit "CA"');
const rsaIssuer = issuer('rsa-2048', 'Certdesk Unit');
const spki = (alg: KeyAlgorithm) => generateKeyPair(alg).publicKey.export({ type: 'spki', format: 'der' });

function params(overrides: Partial<LeafParams>): LeafParams {
  return {
    serial: randomSerial(),
    level: 'dv',
    dnsNames: ['www.example.com', 'example.com'],
    ipAddresses: [],
    subjectPublicKeyDer: spki('ecdsa-p256'),
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + 90 * 86400_000 + 123),
    issuer: ecdsaIssuer,
    aiaIssuerUrl: 'http://ca.test/intermediate.crt',
    crlUrl: 'http://ca.test/intermediate.crl',
    ...overrides,
  };
}

describe('issueLeaf description', () => {
  const cases: [string, Partial<LeafParams>][] = [
    ['DV with two names', {}],
    ['DV with IPv4 and IPv6 addresses', { dnsNames: [], ipAddresses: ['192.0.2.10', '2001:DB8:0:0:0:0:0:1'] }],
    ['DV with a name too long for the common name', { dnsNames: [`${'a'.repeat(60)}.example.com`] }],
    ['OV with characters the name printer escapes', { level: 'ov', organization: { name: 'Example Trading Co., Ltd. <HZ>; #1 + "best"', locality: 'Hangzhou', state: 'Zhejiang', country: 'CN' } }],
    ['EV with every subject attribute', { level: 'ev', organization: { name: 'Ex Ltd', locality: 'Hangzhou', state: 'Zhejiang', country: 'CN', registrationNumber: '91330100MA2XXXXX0X', businessCategory: 'Private Organization', jurisdictionCountry: 'CN' } }],
    ['OV with a non-ASCII organization name', { level: 'ov', organization: { name: '杭州示例科技有限公司', locality: 'Hangzhou', state: 'Zhejiang', country: 'CN' } }],
    ['RSA key under an RSA intermediate', { subjectPublicKeyDer: spki('rsa-2048'), issuer: rsaIssuer }],
    ['P-384 key, a serial with its top bit set', { subjectPublicKeyDer: spki('ecdsa-p384'), serial: Buffer.from('80'.repeat(16), 'hex') }],
    ['validity in GeneralizedTime', { notBefore: new Date('2049-12-20T12:34:56.500Z'), notAfter: new Date('2050-01-20T12:34:56.999Z') }],
  ];
  for (const [name, overrides] of cases) {
    test(`${name}: equals describeCertificate of the PEM`, () => {
      const leaf = issueLeaf(params(overrides));
      assert.deepEqual(leaf.description, describeCertificate(leaf.pem));
    });
  }
});
