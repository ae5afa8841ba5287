import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { Certificate, SubjectKeyIdentifier, TBSCertificate, Version } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import { TAG, children, readTlv, tlv } from './der.js';
import { toDer } from './encoded.js';
import { EXTENSION, readExtension, readSubjectAltName, type AltNames } from './extensions.js';
import { spkiFacts } from './keys.js';
import { leafTemplate, readSubjectKey, writeLeafTbs } from './leaf_template.js';
import { lintVaryingParts } from './lint.js';
import { ATTRIBUTE_SHORT_NAMES, type NameAttribute } from './names.js';
import { fingerprints, fromPem, toPem } from './pem.js';
import { keyIdentifier, leafIpAddresses, lintFailed, readSpki, type LeafParams } from './profile.js';
import { serialHex } from './serial.js';
import { describeSignatureOid, signEnvelope, signatureAlgorithmForKey, signatureAlgorithmOid, type SignatureAlgorithm } from './signing.js';

export { POLICY_OIDS, buildLeafTbs, maxLeafValidityDays, type LeafOrganization, type LeafParams, type ValidationLevel } from './profile.js';
export { lintLeaf } from './lint.js';

/** Everything needed to sign under one CA certificate. */
export interface IssuerHandle {
  certDer: Buffer;
  /** The issuer certificate's subject Name, DER, exactly as it appears there. */
  subjectDer: Buffer;
  subjectKeyId: Buffer;
  privateKey: KeyObject;
  signatureAlgorithm: SignatureAlgorithm;
}

function certificateInvalid(message: string): CertdeskError {
  return new CertdeskError('CERTIFICATE_INVALID', message, { status: 400 });
}

/** Derives the handle from the CA certificate; its public key must belong to `privateKey`. */
export function issuerHandle(certPem: string, privateKey: KeyObject): IssuerHandle {
  const certDer = fromPem(certPem, 'CERTIFICATE');
  let subjectDer: Buffer;
  let spkiDer: Buffer;
  let certificate: Certificate;
  try {
    certificate = AsnParser.parse(certDer, Certificate);
    const tbs = children(certDer, readTlv(certDer, 0))[0];
    if (!tbs) throw new RangeError('no TBSCertificate');
    const fields = children(certDer, tbs);
    // serial, signature, issuer, validity, subject, SPKI follow the optional [0] version.
    const offset = fields[0]?.tag === TAG.explicit0 ? 1 : 0;
    const subject = fields[offset + 4];
    const spki = fields[offset + 5];
    if (!subject || !spki) throw new RangeError('truncated TBSCertificate');
    subjectDer = certDer.subarray(subject.start, subject.end);
    spkiDer = certDer.subarray(spki.start, spki.end);
  } catch {
    throw certificateInvalid('The CA certificate cannot be parsed as X.509.');
  }
  if (!createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).equals(spkiDer)) {
    throw new CertdeskError('ISSUER_KEY_MISMATCH', "The CA private key does not belong to the CA certificate's public key.", { status: 500 });
  }
  const skiExtension = certificate.tbsCertificate.extensions?.find((ext) => ext.extnID === EXTENSION.subjectKeyIdentifier);
  const subjectKeyId = skiExtension
    ? Buffer.from(readExtension(skiExtension, SubjectKeyIdentifier).buffer)
    : keyIdentifier(readSpki(spkiDer).publicKey);
  return { certDer, subjectDer, subjectKeyId, privateKey, signatureAlgorithm: signatureAlgorithmForKey(privateKey) };
}

/**
 * DER of a TBSCertificate. The top-level SEQUENCE is assembled here so the
 * parts that are shared between certificates (issuer, algorithm, constant
 * extensions) reuse their remembered encoding instead of going through the
 * schema serializer again; the bytes equal AsnSerializer.serialize(tbs).
 */
function encodeTbsCertificate(tbs: TBSCertificate): Buffer {
  if (tbs.issuerUniqueID || tbs.subjectUniqueID) return Buffer.from(AsnSerializer.serialize(tbs));
  const parts: Uint8Array[] = [];
  if (tbs.version !== Version.v1) parts.push(tlv(TAG.explicit0, tlv(TAG.integer, Buffer.from([tbs.version]))));
  parts.push(
    tlv(TAG.integer, new Uint8Array(tbs.serialNumber)),
    toDer(tbs.signature),
    toDer(tbs.issuer),
    toDer(tbs.validity),
    toDer(tbs.subject),
    toDer(tbs.subjectPublicKeyInfo),
  );
  if (tbs.extensions && tbs.extensions.length > 0) {
    // Array.from, not .map: mapping the schema's Array subclass would construct another Extensions.
    parts.push(tlv(TAG.explicit3, tlv(TAG.sequence, ...Array.from(tbs.extensions, (ext) => toDer(ext)))));
  }
  return tlv(TAG.sequence, ...parts);
}

/** Signs a TBSCertificate with `privateKey` (self-signed roots) and returns the certificate DER. */
export function signTbsCertificate(tbs: TBSCertificate, privateKey: KeyObject, algorithm: SignatureAlgorithm): Buffer {
  if (tbs.signature.algorithm !== signatureAlgorithmOid(algorithm)) {
    throw new CertdeskError('SIGNATURE_ALGORITHM_MISMATCH', `The TBSCertificate names ${tbs.signature.algorithm} but the key signs with ${algorithm}.`, { status: 500 });
  }
  return signEnvelope(encodeTbsCertificate(tbs), privateKey, algorithm);
}

export function signCertificate(tbs: TBSCertificate, issuer: IssuerHandle): Buffer {
  return signTbsCertificate(tbs, issuer.privateKey, issuer.signatureAlgorithm);
}

/**
 * Build, lint, sign: the one way a leaf certificate comes to exist. The
 * constant parts come from a template linted when it was built, the varying
 * parts are written and linted here; any finding of either throws
 * LINT_FAILED (422). The description is taken from what was written, so the
 * certificate need not be parsed again.
 */
export function issueLeaf(p: LeafParams): { der: Buffer; pem: string; description: CertificateDescription } {
  const ipAddresses = leafIpAddresses(p);
  const key = readSubjectKey(p.subjectPublicKeyDer);
  const template = leafTemplate(p, key.facts.type === 'rsa');
  const { tbsDer, varying } = writeLeafTbs(template, p, key, ipAddresses);
  const findings = lintVaryingParts(varying, p, template.inputs);
  if (template.findings.length > 0 || findings.length > 0) throw lintFailed([...template.findings, ...findings]);
  const der = signEnvelope(tbsDer, p.issuer.privateKey, template.signatureAlgorithm);
  const description: CertificateDescription = {
    serial: serialHex(varying.serial),
    subject: nameLine(varying.subject),
    issuer: issuerLine(p.issuer),
    dnsNames: [...p.dnsNames],
    ipAddresses: [...ipAddresses],
    notBefore: varying.notBefore,
    notAfter: varying.notAfter,
    keyAlgorithm: key.facts.label,
    signatureAlgorithm: describeSignatureOid(signatureAlgorithmOid(template.signatureAlgorithm)).name,
    fingerprints: fingerprints(der),
  };
  return { der, pem: toPem(der, 'CERTIFICATE'), description };
}

export interface CertificateDescription {
  serial: string;
  subject: string;
  issuer: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  fingerprints: { sha1: string; sha256: string };
}

/** Node prints one attribute per line (and nothing for an empty name); certdesk shows one line, in certificate order. */
const oneLine = (name: string | undefined): string => (name ?? '').split('\n').filter(Boolean).join(', ');

const NEEDS_ESCAPE = /[,+"\\<>;]|^[ #]| $/;

/** RFC 2253 escaping of an attribute value, as node prints names (OpenSSL's ASN1_STRFLGS_ESC_2253). */
function escapeNameValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[,+"\\<>;]/g, '\\$&').replace(/^[ #]/, '\\$&').replace(/ $/, '\\ ');
}

/** A subject in the one-line form describeCertificate gives, for the attributes the leaf profile writes. */
function nameLine(attributes: readonly NameAttribute[]): string {
  let line = '';
  for (const { type, value } of attributes) {
    line += `${line ? ', ' : ''}${ATTRIBUTE_SHORT_NAMES[type] ?? type}=${escapeNameValue(value)}`;
  }
  return line;
}

const issuerLines = new WeakMap<Buffer, string>();

function issuerLine(issuer: IssuerHandle): string {
  let line = issuerLines.get(issuer.certDer);
  if (line === undefined) {
    line = oneLine(new X509Certificate(issuer.certDer).subject);
    issuerLines.set(issuer.certDer, line);
  }
  return line;
}

export function describeCertificate(pem: string): CertificateDescription {
  const der = fromPem(pem, 'CERTIFICATE');
  let x509: X509Certificate;
  let certificate: Certificate;
  try {
    x509 = new X509Certificate(der);
    certificate = AsnParser.parse(der, Certificate);
  } catch {
    throw certificateInvalid('The certificate cannot be parsed as X.509.');
  }
  const tbs = certificate.tbsCertificate;
  const sanExtension = tbs.extensions?.find((ext) => ext.extnID === EXTENSION.subjectAltName);
  const san: AltNames = sanExtension ? readSubjectAltName(sanExtension) : { dnsNames: [], ipAddresses: [], others: 0 };
  return {
    serial: serialHex(Buffer.from(x509.serialNumber.length % 2 ? `0${x509.serialNumber}` : x509.serialNumber, 'hex')),
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    dnsNames: san.dnsNames,
    ipAddresses: san.ipAddresses.filter((ip): ip is string => ip !== undefined),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    keyAlgorithm: spkiFacts(tbs.subjectPublicKeyInfo).label,
    signatureAlgorithm: describeSignatureOid(certificate.signatureAlgorithm.algorithm).name,
    fingerprints: fingerprints(der),
  };
}
