import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import {
  AlgorithmIdentifier,
  CRLReason,
  Certificate,
  CertificateList,
  Extension,
  SubjectPublicKeyInfo,
  TBSCertificate,
  id_kp_clientAuth,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { CertdeskError } from '../../src/errors.js';
import {
  POLICY_OIDS,
  buildLeafTbs,
  describeCertificate,
  issueLeaf,
  issuerHandle,
  lintLeaf,
  maxLeafValidityDays,
  signCertificate,
  type IssuerHandle,
  type LeafOrganization,
  type LeafParams,
  type ValidationLevel,
} from '../../src/pki/certificate.js';
import { REVOCATION_REASON_CODES, buildCrl, type RevocationReason } from '../../src/pki/crl.js';
import { checkCsr, createCsr, parseCsr } from '../../src/pki/csr.js';
import { EXTENSION, basicConstraintsExtension, certificatePoliciesExtension, extendedKeyUsageExtension } from '../../src/pki/extensions.js';
import { buildJks } from '../../src/pki/jks.js';
import { KEY_ALGORITHMS, checkKeyPolicy, describePublicKey, generateKeyPair, type KeyAlgorithm } from '../../src/pki/keys.js';
import { ATTRIBUTE, buildName, canonicalIp } from '../../src/pki/names.js';
import { fingerprints, fromPem, splitPemBlocks, toPem } from '../../src/pki/pem.js';
import { randomSerial, serialHex } from '../../src/pki/serial.js';
import { testHierarchy, type TestHierarchy } from '../support/test_ca.js';

const DAY = 86_400_000;
const NOW = new Date('2026-06-01T00:00:00Z');

const hierarchy = (rootAlg: KeyAlgorithm, intermediateAlg: KeyAlgorithm): TestHierarchy => testHierarchy(rootAlg, intermediateAlg, { organization: 'Certdesk Unit', notBefore: NOW });

const ecdsa = hierarchy('ecdsa-p384', 'ecdsa-p256');
const leafKey = generateKeyPair('ecdsa-p256');
const leafSpki = leafKey.publicKey.export({ type: 'spki', format: 'der' });

const ORGANIZATIONS: Record<ValidationLevel, LeafParams['organization']> = {
  dv: undefined,
  ov: { name: 'Example Ltd', locality: 'Hangzhou', state: 'Zhejiang', country: 'CN' },
  ev: {
    name: 'Example Ltd',
    locality: 'Hangzhou',
    state: 'Zhejiang',
    country: 'CN',
    registrationNumber: '91330100MA2XXXXX0X',
    businessCategory: 'Private Organization',
    jurisdictionCountry: 'CN',
  },
};

/** Valid params for `level` (dv unless overridden); `organization: undefined` in overrides removes it. */
function leafParams(overrides: Partial<LeafParams> = {}): LeafParams {
  const level = overrides.level ?? 'dv';
  const { organization = 'organization' in overrides ? undefined : ORGANIZATIONS[level], ...rest } = overrides;
  return {
    serial: randomSerial(),
    level,
    dnsNames: ['www.example.com', 'example.com'],
    ipAddresses: [],
    subjectPublicKeyDer: leafSpki,
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + 90 * DAY),
    issuer: ecdsa.intermediate,
    aiaIssuerUrl: 'http://ca.test/intermediate.crt',
    crlUrl: 'http://ca.test/intermediate.crl',
    ...rest,
    ...(organization ? { organization } : {}),
  };
}

function codeOf(fn: () => unknown): CertdeskError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CertdeskError) return err;
    throw err;
  }
  assert.fail('expected a CertdeskError');
}

async function rejectionOf(promise: Promise<unknown>): Promise<CertdeskError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CertdeskError) return err;
    throw err;
  }
  assert.fail('expected a CertdeskError');
}

/** A CSR built without createCsr, signed with any algorithm: to test what clients may send. */
function handMadeCsr(privateKey: KeyObject, signatureOid: string, hash: string | null, commonName: string): string {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const info = new CertificationRequestInfo({
    version: 0,
    subject: buildName([[ATTRIBUTE.commonName, commonName]]),
    subjectPKInfo: AsnParser.parse(spki, SubjectPublicKeyInfo),
    attributes: new Attributes(),
  });
  const signature = sign(hash, Buffer.from(AsnSerializer.serialize(info)), privateKey);
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier(hash === null ? { algorithm: signatureOid } : { algorithm: signatureOid, parameters: null }),
    signature: new Uint8Array(signature).buffer,
  });
  return toPem(new Uint8Array(AsnSerializer.serialize(request)), 'CERTIFICATE REQUEST');
}

describe('serial numbers', () => {
  test('are 16 positive, non-zero, distinct CSPRNG bytes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const serial = randomSerial();
      assert.equal(serial.length, 16);
      assert.equal((serial[0] as number) & 0x80, 0, 'top bit cleared');
      assert.notEqual(serial[0], 0, 'no leading zero octet');
      seen.add(serial.toString('hex'));
    }
    assert.equal(seen.size, 5000);
  });

  test('serialHex is lowercase without leading zero bytes', () => {
    assert.equal(serialHex(Buffer.from([0, 0, 0x1a, 0xbc])), '1abc');
    assert.equal(serialHex(Buffer.from([0])), '00');
  });
});

describe('PEM', () => {
  test('round-trips and splits blocks, ignoring surrounding text', () => {
    const der = Buffer.from('0badc0ffee', 'hex');
    const text = `junk\n${toPem(der, 'CERTIFICATE')}between\n${toPem(Buffer.from('01', 'hex'), 'PRIVATE KEY')}`;
    assert.deepEqual(fromPem(text), der);
    assert.deepEqual(fromPem(text, 'PRIVATE KEY'), Buffer.from('01', 'hex'));
    assert.deepEqual(splitPemBlocks(text).map((b) => b.label), ['CERTIFICATE', 'PRIVATE KEY']);
    assert.equal(codeOf(() => fromPem('not pem at all')).code, 'PEM_INVALID');
    assert.equal(codeOf(() => fromPem(text, 'CERTIFICATE REQUEST')).code, 'PEM_INVALID');
  });

  test('fingerprints match openssl formatting', () => {
    const x509 = new X509Certificate(ecdsa.rootPem);
    assert.deepEqual(fingerprints(x509.raw), { sha1: x509.fingerprint, sha256: x509.fingerprint256 });
  });
});

describe('keys', () => {
  const labels: Record<KeyAlgorithm, string> = {
    'ecdsa-p256': 'ECDSA P-256',
    'ecdsa-p384': 'ECDSA P-384',
    'rsa-2048': 'RSA 2048',
    'rsa-3072': 'RSA 3072',
    'rsa-4096': 'RSA 4096',
  };
  for (const alg of KEY_ALGORITHMS) {
    test(`${alg}: generates a PKCS#8 key, describes it, and round-trips a CSR`, async () => {
      const { privateKeyPem, publicKey } = generateKeyPair(alg);
      assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
      assert.equal(describePublicKey(publicKey).label, labels[alg]);
      checkKeyPolicy(publicKey);
      const names = ['www.example.com', 'example.com', '192.0.2.7', '2001:db8::7'];
      const pem = createCsr(privateKeyPem, names);
      const csr = parseCsr(pem);
      assert.equal(csr.signatureValid, true);
      assert.equal(csr.commonName, 'www.example.com');
      assert.deepEqual(csr.dnsNames, ['www.example.com', 'example.com']);
      assert.deepEqual(csr.ipAddresses, ['192.0.2.7', '2001:db8::7']);
      assert.deepEqual(csr.spkiDer, publicKey.export({ type: 'spki', format: 'der' }));
      assert.equal(csr.signatureAlgorithm, alg.startsWith('rsa') ? 'sha256WithRSAEncryption' : alg === 'ecdsa-p384' ? 'ecdsa-with-SHA384' : 'ecdsa-with-SHA256');
      assert.equal((await checkCsr(pem, names)).commonName, 'www.example.com');
    });
  }

  test('refuses weak and unsupported keys, saying which keys are accepted', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const weak = codeOf(() => checkKeyPolicy(rsa1024));
    assert.equal(weak.code, 'CSR_WEAK_KEY');
    assert.equal(weak.status, 400);
    assert.match(weak.message, /RSA key of 1024 bits.*Accepted keys: RSA 2048/);
    assert.equal(codeOf(() => checkKeyPolicy(generateKeyPairSync('rsa', { modulusLength: 2056, publicExponent: 3 }).publicKey)).code, 'CSR_WEAK_KEY');
    assert.equal(codeOf(() => checkKeyPolicy(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey)).code, 'CSR_WEAK_KEY');
    assert.equal(codeOf(() => checkKeyPolicy(generateKeyPairSync('ed25519').publicKey)).code, 'CSR_KEY_UNSUPPORTED');
  });
});

describe('IP addresses', () => {
  test('are canonicalised to RFC 5952 text', () => {
    assert.equal(canonicalIp('2001:0DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:102:304');
    assert.equal(canonicalIp('::1'), '::1');
    assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
    assert.equal(canonicalIp('www.example.com'), undefined);
    assert.equal(canonicalIp('fe80::1%eth0'), undefined);
  });
});

describe('checkCsr', () => {
  const names = ['www.example.com', 'example.com'];
  const goodPem = createCsr(leafKey.privateKeyPem, names);

  test('rejects text that is not a CSR', async () => {
    for (const garbage of ['', 'hello', toPem(Buffer.from('3003020100', 'hex'), 'CERTIFICATE REQUEST'), ecdsa.rootPem]) {
      const err = await rejectionOf(checkCsr(garbage, names));
      assert.equal(err.code, 'CSR_INVALID');
      assert.equal(err.field, 'csr.pem');
      assert.match(err.message, /BEGIN CERTIFICATE REQUEST/);
    }
  });

  test('rejects a CSR whose signature was altered', async () => {
    const der = fromPem(goodPem);
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01;
    const tampered = toPem(der, 'CERTIFICATE REQUEST');
    assert.equal(parseCsr(tampered).signatureValid, false);
    assert.equal((await rejectionOf(checkCsr(tampered, names))).code, 'CSR_BAD_SIGNATURE');
  });

  test('rejects SHA-1 signatures, RSA 1024 and Ed25519 keys', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const sha1 = handMadeCsr(rsa, '1.2.840.113549.1.1.5', 'sha1', 'www.example.com');
    assert.equal((await rejectionOf(checkCsr(sha1, ['www.example.com']))).code, 'CSR_WEAK_SIGNATURE');

    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const weakPem = createCsr(rsa1024.export({ type: 'pkcs8', format: 'pem' }) as string, names);
    assert.equal((await rejectionOf(checkCsr(weakPem, names))).code, 'CSR_WEAK_KEY');

    const ed25519 = handMadeCsr(generateKeyPairSync('ed25519').privateKey, '1.3.101.112', null, 'www.example.com');
    assert.equal(parseCsr(ed25519).signatureValid, true);
    const err = await rejectionOf(checkCsr(ed25519, ['www.example.com']));
    assert.equal(err.code, 'CSR_KEY_UNSUPPORTED');
    assert.match(err.message, /Ed25519.*ECDSA P-256 or P-384/);
  });

  test('lists the missing and the extra names', async () => {
    const err = await rejectionOf(checkCsr(goodPem, ['www.example.com', 'shop.example.com']));
    assert.equal(err.code, 'CSR_NAMES_MISMATCH');
    assert.match(err.message, /missing from the CSR: shop\.example\.com/);
    assert.match(err.message, /not in the application: example\.com/);
    assert.deepEqual(err.details, { missing: ['shop.example.com'], extra: ['example.com'] });
  });

  test('compares names case-insensitively and IPs canonically', async () => {
    const pem = handMadeCsr(createPrivateKey(leafKey.privateKeyPem), '1.2.840.10045.4.3.2', 'sha256', 'WWW.Example.COM');
    assert.equal((await checkCsr(pem, ['www.example.com'])).commonName, 'WWW.Example.COM');
    const withIp = createCsr(leafKey.privateKeyPem, ['2001:db8:0:0::1']);
    assert.deepEqual((await checkCsr(withIp, ['2001:db8::1'])).ipAddresses, ['2001:db8::1']);
  });
});

describe('leaf validity schedule', () => {
  test('follows the CA/B 2026 reduction boundaries', () => {
    assert.equal(maxLeafValidityDays(new Date('2026-03-15T00:00:00Z')), 200);
    assert.equal(maxLeafValidityDays(new Date('2027-03-14T23:59:59Z')), 200);
    assert.equal(maxLeafValidityDays(new Date('2027-03-15T00:00:00Z')), 100);
    assert.equal(maxLeafValidityDays(new Date('2029-03-14T23:59:59Z')), 100);
    assert.equal(maxLeafValidityDays(new Date('2029-03-15T00:00:00Z')), 47);
  });
});

describe('leaf certificates', () => {
  for (const level of ['dv', 'ov', 'ev'] as const) {
    test(`${level}: lint passes, the signature verifies, the profile is as required`, () => {
      const p = leafParams({ level, ipAddresses: ['192.0.2.10'] });
      assert.deepEqual(lintLeaf(buildLeafTbs(p), p), []);
      const { der, pem } = issueLeaf(p);
      const cert = new X509Certificate(der);
      assert.equal(cert.verify(new X509Certificate(ecdsa.intermediatePem).publicKey), true);
      assert.equal(cert.checkIssued(new X509Certificate(ecdsa.intermediatePem)), true);
      assert.equal(cert.checkHost('www.example.com'), 'www.example.com');
      assert.equal(cert.checkIP('192.0.2.10'), '192.0.2.10');
      assert.equal(cert.ca, false);
      const description = describeCertificate(pem);
      assert.equal(description.serial, serialHex(p.serial));
      assert.deepEqual(description.dnsNames, ['www.example.com', 'example.com']);
      assert.deepEqual(description.ipAddresses, ['192.0.2.10']);
      assert.equal(description.keyAlgorithm, 'ECDSA P-256');
      assert.equal(description.signatureAlgorithm, 'ecdsa-with-SHA256');
      assert.deepEqual(description.notBefore, p.notBefore);
      assert.deepEqual(description.notAfter, p.notAfter);
      assert.match(description.subject, /CN=www\.example\.com$/);
      assert.equal(description.issuer, 'O=Certdesk Unit, CN=Test Issuing CA');
      if (level === 'dv') assert.equal(description.subject, 'CN=www.example.com');
      else assert.match(description.subject, /C=CN, ST=Zhejiang, L=Hangzhou, O=Example Ltd/);
      const policies = AsnParser.parse(der, Certificate).tbsCertificate.extensions?.find((e) => e.extnID === EXTENSION.certificatePolicies);
      assert.ok(policies && Buffer.from(policies.extnValue.buffer).toString('hex').includes(oidHex(POLICY_OIDS[level])));
    });
  }

  test('the template-written TBS DER equals the schema serializer output, for every level, key and name kind', () => {
    const rsa = hierarchy('rsa-2048', 'rsa-2048');
    const p384 = hierarchy('ecdsa-p384', 'ecdsa-p384');
    const keys: [string, Buffer][] = [
      ['ECDSA P-256', leafSpki],
      ['ECDSA P-384', generateKeyPair('ecdsa-p384').publicKey.export({ type: 'spki', format: 'der' })],
      ['RSA 2048', generateKeyPair('rsa-2048').publicKey.export({ type: 'spki', format: 'der' })],
    ];
    const issuers: [string, IssuerHandle][] = [
      ['ECDSA P-256 issuer', ecdsa.intermediate],
      ['ECDSA P-384 issuer', p384.intermediate],
      ['RSA issuer', rsa.intermediate],
    ];
    const names: [string, Partial<LeafParams>][] = [
      ['DNS names', {}],
      ['a wildcard', { dnsNames: ['*.example.com', 'example.com'] }],
      ['IPv4 and IPv6 only', { dnsNames: [], ipAddresses: ['2001:DB8:0:0:0:0:0:1', '198.51.100.1'] }],
      ['DNS names and IPs', { ipAddresses: ['192.0.2.10', '::1'] }],
      ['only a name too long for the CN (empty subject, critical SAN)', { dnsNames: [`${'a'.repeat(63)}.${'b'.repeat(10)}.example.com`] }],
      ['a long name first', { dnsNames: [`${'a'.repeat(60)}.example.com`, 'example.com'] }],
      ['a serial with its top bit set', { serial: Buffer.from('ff'.repeat(16), 'hex') }],
      ['milliseconds in the validity', { notBefore: new Date(NOW.getTime() + 789), notAfter: new Date(NOW.getTime() + 90 * DAY + 123) }],
      ['GeneralizedTime from 2050 on', { notBefore: new Date('2049-12-20T12:34:56Z'), notAfter: new Date('2050-01-20T12:34:56Z') }],
    ];
    /** Changes to the level's organization. */
    const organizations: [string, Partial<LeafOrganization>][] = [
      ['escaped characters', { name: 'Example Trading Co., Ltd. <HZ>; #1 + "best"', locality: undefined }],
      ['a non-ASCII name', { name: '杭州示例科技有限公司', state: undefined }],
      ['a registration number that is not printable', { registrationNumber: '统一社会信用代码 91330100' }],
    ];
    const cases: [string, Partial<LeafParams>][] = [];
    for (const level of ['dv', 'ov', 'ev'] as const) {
      for (const [keyName, subjectPublicKeyDer] of keys) {
        for (const [issuerName, issuer] of issuers) cases.push([`${level}, ${keyName}, ${issuerName}`, { level, subjectPublicKeyDer, issuer }]);
      }
      for (const [nameKind, overrides] of names) cases.push([`${level}, ${nameKind}`, { level, ...overrides }]);
      const base = ORGANIZATIONS[level];
      if (base) for (const [orgKind, changes] of organizations) cases.push([`${level}, ${orgKind}`, { level, organization: { ...base, ...changes } }]);
    }
    for (const [name, overrides] of cases) {
      const p = leafParams(overrides);
      const expected = Buffer.from(AsnSerializer.serialize(buildLeafTbs(p)));
      const tbsOf = (der: Buffer) => Buffer.from(AsnParser.parse(der, Certificate).tbsCertificateRaw ?? new ArrayBuffer(0));
      // issueLeaf writes from the template; signCertificate (CA certificates) assembles the schema objects.
      assert.deepEqual(tbsOf(issueLeaf(p).der), expected, name);
      assert.deepEqual(tbsOf(signCertificate(buildLeafTbs(p), p.issuer)), expected, name);
    }
  });

  test('an RSA hierarchy issues RSA-signed leaves with keyEncipherment for RSA keys', () => {
    const rsa = hierarchy('rsa-2048', 'rsa-2048');
    const rsaLeaf = generateKeyPair('rsa-2048').publicKey.export({ type: 'spki', format: 'der' });
    const { pem } = issueLeaf(leafParams({ issuer: rsa.intermediate, subjectPublicKeyDer: rsaLeaf }));
    const cert = new X509Certificate(pem);
    assert.equal(cert.verify(new X509Certificate(rsa.intermediatePem).publicKey), true);
    assert.equal(describeCertificate(pem).signatureAlgorithm, 'sha256WithRSAEncryption');
    assert.equal(describeCertificate(pem).keyAlgorithm, 'RSA 2048');
  });

  test('names longer than 64 characters stay out of the CN; an empty subject makes the SAN critical', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(10)}.example.com`;
    const p = leafParams({ dnsNames: [long] });
    const tbs = buildLeafTbs(p);
    assert.deepEqual(lintLeaf(tbs, p), []);
    assert.equal(tbs.subject.length, 0);
    assert.equal(tbs.extensions?.find((e) => e.extnID === EXTENSION.subjectAltName)?.critical, true);
    assert.equal(describeCertificate(issueLeaf(p).pem).subject, '');
  });

  test('issueLeaf refuses to sign a certificate with findings', () => {
    const err = codeOf(() => issueLeaf(leafParams({ notAfter: new Date(NOW.getTime() + 365 * DAY) })));
    assert.equal(err.code, 'LINT_FAILED');
    assert.equal(err.status, 422);
    const findings = err.details?.findings as string[];
    assert.equal(findings.length, 1);
    assert.match(err.message, /exceeds the 200-day maximum/);
  });
});

function oidHex(oid: string): string {
  const [a = 0, b = 0, ...rest] = oid.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let n = arc >> 7; n > 0; n >>= 7) groups.unshift((n & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return Buffer.from(bytes).toString('hex');
}

describe('lintLeaf', () => {
  /** What issueLeaf refused `p` for; none when it signed. */
  function issueFindings(p: LeafParams): string[] {
    try {
      issueLeaf(p);
      return [];
    } catch (err) {
      if (err instanceof CertdeskError && err.code === 'LINT_FAILED') return err.details?.findings as string[];
      throw err;
    }
  }
  /**
   * Builds, lets `mutate` break the TBS, and returns lintLeaf's findings. Bad
   * params (no mutation) must also stop issueLeaf, which lints the template
   * and each certificate's varying parts, with the same findings.
   */
  function findings(overrides: Partial<LeafParams>, mutate?: (tbs: TBSCertificate) => void): string[] {
    const p = leafParams(overrides);
    const tbs = buildLeafTbs(p);
    mutate?.(tbs);
    const found = lintLeaf(tbs, p);
    if (!mutate) assert.deepEqual([...issueFindings(p)].sort(), [...found].sort(), 'issueLeaf and lintLeaf disagree');
    return found;
  }
  function replaceExtension(tbs: TBSCertificate, replacement: Extension): void {
    const extensions = tbs.extensions ?? [];
    const index = extensions.findIndex((e) => e.extnID === replacement.extnID);
    extensions[index] = replacement;
  }
  const expectFinding = (list: string[], pattern: RegExp) =>
    assert.ok(list.some((f) => pattern.test(f)), `expected a finding matching ${pattern}, got ${JSON.stringify(list)}`);

  test('validity: inclusive seconds against the schedule, and order', () => {
    assert.deepEqual(findings({ notAfter: new Date(NOW.getTime() + 200 * DAY - 1000) }), []);
    expectFinding(findings({ notAfter: new Date(NOW.getTime() + 200 * DAY) }), /exceeds the 200-day maximum/);
    const in2029 = new Date('2029-03-15T00:00:00Z');
    expectFinding(findings({ notBefore: in2029, notAfter: new Date(in2029.getTime() + 48 * DAY) }), /47-day maximum/);
    expectFinding(findings({ notAfter: NOW }), /notAfter must be later than notBefore/);
  });

  test('serial: entropy, length, sign', () => {
    expectFinding(findings({ serial: Buffer.from([1, 2, 3]) }), /at least 64 random bits/);
    expectFinding(findings({ serial: Buffer.alloc(21, 0x11) }), /at most 20 are allowed/);
    expectFinding(findings({}, (tbs) => (tbs.serialNumber = new Uint8Array([0x80, ...Buffer.alloc(15, 1)]).buffer)), /negative/);
    assert.deepEqual(findings({ serial: Buffer.from('ff'.repeat(16), 'hex') }), [], 'a set top bit gains a sign octet');
  });

  test('SAN: present, lowercase LDH labels, wildcard only left-most, lengths', () => {
    expectFinding(findings({ dnsNames: [] }), /subjectAltName is empty/);
    expectFinding(findings({ dnsNames: ['WWW.example.com'] }), /uppercase/);
    expectFinding(findings({ dnsNames: ['a_b.example.com'] }), /underscore/);
    expectFinding(findings({ dnsNames: ['www.*.example.com'] }), /\* only as the whole left-most label/);
    expectFinding(findings({ dnsNames: ['w*.example.com'] }), /\* only as the whole left-most label/);
    expectFinding(findings({ dnsNames: [`${'a'.repeat(64)}.example.com`] }), /longer than 63/);
    expectFinding(findings({ dnsNames: [`${'abcdefghi.'.repeat(25)}example.com`] }), /longer than 253/);
    expectFinding(findings({ dnsNames: ['-bad.example.com'] }), /not letters, digits and inner hyphens/);
    assert.deepEqual(findings({ dnsNames: ['*.example.com'] }), []);
  });

  test('CN must be one of the SAN entries', () => {
    expectFinding(findings({}, (tbs) => (tbs.subject = buildName([[ATTRIBUTE.commonName, 'other.example.com']]))), /CN "other\.example\.com" is not one of/);
  });

  test('keys: RSA size, curves', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    expectFinding(findings({ subjectPublicKeyDer: rsa1024 }), /RSA key of 1024 bits/);
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey.export({ type: 'spki', format: 'der' });
    expectFinding(findings({ subjectPublicKeyDer: p521 }), /P-521 is not accepted/);
  });

  test('signature algorithm: no SHA-1, and the issuer key decides', () => {
    const sha1 = new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.5', parameters: null });
    expectFinding(findings({}, (tbs) => (tbs.signature = sha1)), /sha1WithRSAEncryption uses SHA-1 or MD5/);
    const sha384 = new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.3' });
    expectFinding(findings({}, (tbs) => (tbs.signature = sha384)), /does not match the issuing CA's key/);
  });

  test('EKU must be exactly serverAuth', () => {
    expectFinding(findings({}, (tbs) => replaceExtension(tbs, extendedKeyUsageExtension([id_kp_serverAuth, id_kp_clientAuth]))), /exactly serverAuth/);
  });

  test('exactly one CA/B policy OID, matching the level', () => {
    expectFinding(findings({ level: 'ov' }, (tbs) => replaceExtension(tbs, certificatePoliciesExtension([POLICY_OIDS.dv]))), /does not match validation level ov/);
    expectFinding(findings({}, (tbs) => replaceExtension(tbs, certificatePoliciesExtension([POLICY_OIDS.dv, POLICY_OIDS.ov]))), /exactly one CA\/B Forum policy OID, found 2/);
  });

  test('subject identity follows the level', () => {
    expectFinding(findings({ level: 'dv', organization: ORGANIZATIONS.ov }), /DV certificate's subject may carry only CN, found C, ST, L, O/);
    expectFinding(findings({ level: 'ov', organization: undefined }), /OV certificate's subject must carry O, C/);
    expectFinding(findings({ level: 'ev', organization: ORGANIZATIONS.ov }), /EV certificate's subject must carry serialNumber, businessCategory, jurisdictionC/);
    expectFinding(findings({ level: 'ov', organization: { name: 'Example Ltd', country: 'cn', state: 'Zhejiang' } }), /C "cn" must be an assigned two-letter uppercase ISO 3166-1 code/);
    expectFinding(findings({ level: 'ov', organization: { name: 'Example Ltd', country: 'ZZ', state: 'Zhejiang' } }), /C "ZZ" must be an assigned two-letter uppercase ISO 3166-1 code/);
  });

  test('AIA and CRL DP must be http URLs', () => {
    expectFinding(findings({ aiaIssuerUrl: 'ldap://ca.test/issuer' }), /caIssuers URL "ldap:\/\/ca\.test\/issuer" must use http/);
    expectFinding(findings({ crlUrl: 'https://ca.test/crl' }), /cRLDistributionPoints URL "https:\/\/ca\.test\/crl" must use http/);
  });

  test('basicConstraints cA=false; no duplicate or missing extensions', () => {
    expectFinding(findings({}, (tbs) => replaceExtension(tbs, basicConstraintsExtension(true))), /cA=false/);
    expectFinding(findings({}, (tbs) => tbs.extensions?.push(tbs.extensions[0] as Extension)), /authorityKeyIdentifier extension appears more than once/);
    expectFinding(
      findings({}, (tbs) => tbs.extensions?.splice(tbs.extensions.findIndex((e) => e.extnID === EXTENSION.cRLDistributionPoints), 1)),
      /cRLDistributionPoints extension is missing/,
    );
  });

  test('a template is linted for its inputs and rebuilt when they change', () => {
    // The template's finding and the certificate's own come together; the next request with good URLs gets a good template.
    const refused = issueFindings(leafParams({ aiaIssuerUrl: 'ldap://ca.test/issuer', dnsNames: ['a_b.example.com'] }));
    expectFinding(refused, /caIssuers URL "ldap:\/\/ca\.test\/issuer" must use http/);
    expectFinding(refused, /underscore/);
    assert.deepEqual(issueFindings(leafParams()), []);
    const handle: IssuerHandle = { ...ecdsa.intermediate };
    const issuerOf = (der: Buffer) => new X509Certificate(der).issuer;
    assert.equal(issuerOf(issueLeaf(leafParams({ issuer: handle })).der), new X509Certificate(ecdsa.intermediatePem).subject);
    handle.subjectDer = Buffer.from(AsnSerializer.serialize(buildName([[ATTRIBUTE.commonName, 'Renamed CA']])));
    assert.equal(issuerOf(issueLeaf(leafParams({ issuer: handle })).der), 'CN=Renamed CA');
  });

  test('shared extensions are frozen so no caller can alter them for every certificate', () => {
    const tbs = buildLeafTbs(leafParams());
    const shared = tbs.extensions?.find((e) => e.extnID === EXTENSION.extKeyUsage) as Extension;
    assert.throws(() => {
      shared.critical = true;
    }, TypeError);
  });
});

describe('CA certificates', () => {
  test('root and intermediate carry the CA profile and chain', () => {
    const root = new X509Certificate(ecdsa.rootPem);
    const intermediate = new X509Certificate(ecdsa.intermediatePem);
    assert.equal(root.ca, true);
    assert.equal(intermediate.ca, true);
    assert.equal(root.verify(root.publicKey), true);
    assert.equal(intermediate.verify(root.publicKey), true);
    assert.equal(intermediate.checkIssued(root), true);
    assert.equal(describeCertificate(ecdsa.rootPem).signatureAlgorithm, 'ecdsa-with-SHA384');
    assert.equal(ecdsa.intermediate.signatureAlgorithm, 'ecdsa-sha256');
  });

  test('issuerHandle refuses a key that does not belong to the certificate', () => {
    const err = codeOf(() => issuerHandle(ecdsa.rootPem, createPrivateKey(leafKey.privateKeyPem)));
    assert.equal(err.code, 'ISSUER_KEY_MISMATCH');
  });
});

describe('CRL', () => {
  /** Parses the CRL with the schema parser and checks its signature with node's verify. */
  function readCrl(der: Buffer) {
    const crl = AsnParser.parse(der, CertificateList);
    const signatureValid = verify(
      'sha256',
      new Uint8Array(crl.tbsCertListRaw ?? new ArrayBuffer(0)),
      new X509Certificate(ecdsa.intermediatePem).publicKey,
      new Uint8Array(crl.signature),
    );
    return { tbs: crl.tbsCertList, signatureValid };
  }

  test('lists revoked serials with their reasons and verifies with the issuer key', () => {
    const entries: { serial: Buffer; revokedAt: Date; reason: RevocationReason }[] = (
      ['keyCompromise', 'unspecified', 'superseded', 'privilegeWithdrawn'] as const
    ).map((reason, i) => ({ serial: randomSerial(), revokedAt: new Date(NOW.getTime() + i * 1000), reason }));
    const der = buildCrl({
      issuer: ecdsa.intermediate,
      entries,
      thisUpdate: NOW,
      nextUpdate: new Date(NOW.getTime() + 7 * DAY),
      crlNumber: 1_780_000_000n,
    });
    const { tbs, signatureValid } = readCrl(der);
    assert.equal(signatureValid, true);
    assert.equal(tbs.version, 1, 'v2');
    assert.deepEqual(Buffer.from(AsnSerializer.serialize(tbs.issuer)), ecdsa.intermediate.subjectDer);
    assert.deepEqual(tbs.thisUpdate.getTime(), NOW);
    assert.deepEqual(tbs.crlExtensions?.map((e) => e.extnID), [EXTENSION.authorityKeyIdentifier, EXTENSION.cRLNumber]);
    assert.deepEqual(
      (tbs.revokedCertificates ?? []).map((e) => {
        const reason = e.crlEntryExtensions?.find((x) => x.extnID === EXTENSION.reasonCode);
        return [serialHex(new Uint8Array(e.userCertificate)), reason ? AsnParser.parse(reason.extnValue, CRLReason).reason : undefined];
      }),
      entries.map((e) => [serialHex(e.serial), e.reason === 'unspecified' ? undefined : REVOCATION_REASON_CODES[e.reason]]),
    );
  });

  test('an empty CRL omits the revoked list', () => {
    const der = buildCrl({ issuer: ecdsa.intermediate, entries: [], thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() + DAY), crlNumber: 1n });
    const { tbs, signatureValid } = readCrl(der);
    assert.equal(signatureValid, true);
    assert.equal(tbs.revokedCertificates, undefined);
  });
});

describe('JKS', () => {
  test('has the JKS header, one entry per certificate without a key, and a password-bound digest', () => {
    const chainDer = [fromPem(ecdsa.intermediatePem), fromPem(ecdsa.rootPem)];
    const store = buildJks({ alias: 'Web', chainDer, password: 'changeit', now: NOW });
    assert.equal(store.readUInt32BE(0), 0xfeedfeed);
    assert.equal(store.readUInt32BE(4), 2);
    assert.equal(store.readUInt32BE(8), 2);
    const withKey = buildJks({ alias: 'web', privateKeyPem: leafKey.privateKeyPem, chainDer, password: 'changeit', now: NOW });
    assert.equal(withKey.readUInt32BE(8), 1);
    assert.equal(withKey.readUInt32BE(12), 1, 'a PrivateKeyEntry');
  });
});
