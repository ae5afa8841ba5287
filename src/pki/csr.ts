import { createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { ExtensionRequest, id_pkcs9_at_extensionRequest } from '@peculiar/asn1-pkcs9';
import { Attribute, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import { children, readTlv } from './der.js';
import { EXTENSION, readSubjectAltName, subjectAltNameExtension } from './extensions.js';
import { checkKeyPolicy } from './keys.js';
import { ATTRIBUTE, MAX_COMMON_NAME_LENGTH, buildName, canonicalIp, nameAttributes } from './names.js';
import { splitPemBlocks, toPem } from './pem.js';
import { describeSignatureOid, signEnvelope, signatureAlgorithmForKey, type SignatureAlgorithmInfo } from './signing.js';

export interface ParsedCsr {
  der: Buffer;
  commonName?: string;
  dnsNames: string[];
  /** Canonical text form. */
  ipAddresses: string[];
  publicKey: KeyObject;
  /** The SubjectPublicKeyInfo exactly as in the CSR. */
  spkiDer: Buffer;
  signatureValid: boolean;
  /** OpenSSL's name, e.g. ecdsa-with-SHA256; the dotted OID when unknown. */
  signatureAlgorithm: string;
}

const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

function csrInvalid(problem: string): CertdeskError {
  return new CertdeskError('CSR_INVALID', `${problem} Paste one PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----).`, {
    status: 400,
    field: 'csr.pem',
  });
}

function csrDer(pem: string): Buffer {
  const blocks = splitPemBlocks(typeof pem === 'string' ? pem : '').filter((block) => CSR_LABELS.has(block.label));
  if (blocks.length === 0) throw csrInvalid('The CSR is not a PEM certificate request.');
  if (blocks.length > 1) throw csrInvalid(`The text holds ${blocks.length} certificate requests.`);
  return (blocks[0] as { der: Buffer }).der;
}

/** Names requested through the PKCS#9 extensionRequest attribute's subjectAltName. */
function requestedAltNames(attributes: Attributes): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const attribute of attributes.filter((a) => a.type === id_pkcs9_at_extensionRequest)) {
    for (const value of attribute.values) {
      const san = AsnParser.parse(value, ExtensionRequest).find((ext) => ext.extnID === EXTENSION.subjectAltName);
      if (!san) continue;
      const names = readSubjectAltName(san);
      dnsNames.push(...names.dnsNames);
      for (const ip of names.ipAddresses) {
        if (!ip) throw csrInvalid("The CSR's subjectAltName holds an IP address that is neither IPv4 nor IPv6.");
        ipAddresses.push(ip);
      }
    }
  }
  return { dnsNames, ipAddresses };
}

export function parseCsr(pem: string): ParsedCsr {
  return parse(pem).csr;
}

function parse(pem: string): { csr: ParsedCsr; algorithm: SignatureAlgorithmInfo } {
  const der = csrDer(pem);
  let request: CertificationRequest;
  let infoDer: Buffer;
  let spkiDer: Buffer;
  try {
    const outer = readTlv(der, 0);
    if (outer.end !== der.length) throw new RangeError('trailing bytes');
    const info = children(der, outer)[0];
    const spki = info && children(der, info)[2];
    if (!info || !spki) throw new RangeError('truncated CertificationRequestInfo');
    infoDer = der.subarray(info.start, info.end);
    spkiDer = der.subarray(spki.start, spki.end);
    request = AsnParser.parse(der, CertificationRequest);
  } catch {
    throw csrInvalid('The CSR is not a valid PKCS#10 structure.');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    throw csrInvalid("The CSR's public key cannot be read.");
  }
  const info = request.certificationRequestInfo;
  let commonNames: string[];
  let altNames: { dnsNames: string[]; ipAddresses: string[] };
  try {
    commonNames = nameAttributes(info.subject).filter((a) => a.type === ATTRIBUTE.commonName).map((a) => a.value);
    altNames = requestedAltNames(info.attributes);
  } catch (err) {
    if (err instanceof CertdeskError) throw err;
    throw csrInvalid("The CSR's subject or requested extensions cannot be decoded.");
  }
  if (commonNames.length > 1) throw csrInvalid(`The CSR's subject has ${commonNames.length} common names (CN); use one.`);

  const algorithm = describeSignatureOid(request.signatureAlgorithm.algorithm);
  let signatureValid = false;
  if (algorithm.hash !== undefined) {
    try {
      signatureValid = verify(algorithm.hash, infoDer, publicKey, new Uint8Array(request.signature));
    } catch {
      signatureValid = false;
    }
  }
  const parsed: ParsedCsr = {
    der,
    ...altNames,
    publicKey,
    spkiDer: Buffer.from(spkiDer),
    signatureValid,
    signatureAlgorithm: algorithm.name,
  };
  if (commonNames[0] !== undefined) parsed.commonName = commonNames[0];
  return { csr: parsed, algorithm };
}

/** A DNS name lowercased, an IP address in canonical form. */
function normalizeName(name: string): string {
  return canonicalIp(name) ?? name.toLowerCase();
}

/**
 * Parses a subscriber's CSR and checks it may be certified for exactly
 * `expectedNames`: valid signature, no SHA-1/MD5, an accepted key, and
 * CN ∪ SAN equal to the names of the application.
 */
export function checkCsr(pem: string, expectedNames: string[]): ParsedCsr {
  const { csr, algorithm } = parse(pem);
  if (algorithm.hash === undefined) {
    throw new CertdeskError(
      'CSR_SIGNATURE_UNSUPPORTED',
      `The CSR is signed with ${csr.signatureAlgorithm}, which certdesk cannot verify. Sign it with SHA-256 (ECDSA or RSA PKCS#1 v1.5).`,
      { status: 400, field: 'csr.pem' },
    );
  }
  if (!csr.signatureValid) {
    throw new CertdeskError('CSR_BAD_SIGNATURE', "The CSR's signature does not verify with its own public key; the CSR was altered or damaged. Generate it again.", {
      status: 400,
      field: 'csr.pem',
    });
  }
  if (algorithm.weak) {
    throw new CertdeskError('CSR_WEAK_SIGNATURE', `The CSR is signed with ${csr.signatureAlgorithm}; SHA-1 and MD5 are refused. Sign it with SHA-256 or stronger.`, {
      status: 400,
      field: 'csr.pem',
    });
  }
  checkKeyPolicy(csr.publicKey);

  const inCsr = new Set([...(csr.commonName === undefined ? [] : [csr.commonName]), ...csr.dnsNames, ...csr.ipAddresses].map(normalizeName));
  const expected = new Set(expectedNames.map(normalizeName));
  const missing = [...expected].filter((name) => !inCsr.has(name));
  const extra = [...inCsr].filter((name) => !expected.has(name));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing from the CSR: ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`in the CSR but not in the application: ${extra.join(', ')}`] : []),
    ];
    throw new CertdeskError(
      'CSR_NAMES_MISMATCH',
      `The CSR's names do not match the application (${parts.join('; ')}). Its CN and subjectAltName must list exactly: ${[...expected].join(', ')}.`,
      { status: 400, field: 'csr.pem', details: { missing, extra } },
    );
  }
  return csr;
}

/**
 * A PEM CSR for `names` signed by the given PKCS#8 key: CN = names[0] (left
 * out when longer than 64 characters, then the SAN is critical) and a SAN of
 * every name, IPs as iPAddress.
 */
export function createCsr(privateKeyPem: string, names: string[]): string {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch {
    throw new CertdeskError('KEY_INVALID', 'The private key is not a readable PEM key.', { status: 400 });
  }
  const algorithm = signatureAlgorithmForKey(privateKey);
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const dnsNames = names.filter((name) => canonicalIp(name) === undefined);
  const ipAddresses = names.flatMap((name) => canonicalIp(name) ?? []);
  const commonName = names[0] !== undefined && names[0].length <= MAX_COMMON_NAME_LENGTH ? names[0] : undefined;
  const san = subjectAltNameExtension(dnsNames, ipAddresses, commonName === undefined);
  const info = new CertificationRequestInfo({
    version: 0,
    subject: buildName(commonName === undefined ? [] : [[ATTRIBUTE.commonName, commonName]]),
    subjectPKInfo: AsnParser.parse(spkiDer, SubjectPublicKeyInfo),
    attributes: new Attributes([
      new Attribute({ type: id_pkcs9_at_extensionRequest, values: [AsnSerializer.serialize(new ExtensionRequest([san]))] }),
    ]),
  });
  return toPem(signEnvelope(Buffer.from(AsnSerializer.serialize(info)), privateKey, algorithm), 'CERTIFICATE REQUEST');
}
