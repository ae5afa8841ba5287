import { hash } from 'node:crypto';
import { AsnParser } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Extensions,
  KeyUsageFlags,
  Name,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import type { IssuerHandle } from './certificate.js';
import { TAG, children, readTlv, unsignedIntegerContent } from './der.js';
import { remember } from './encoded.js';
import {
  authorityInfoAccessExtension,
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  certificatePoliciesExtension,
  crlDistributionPointsExtension,
  extendedKeyUsageExtension,
  keyUsageExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from './extensions.js';
import { ATTRIBUTE, MAX_COMMON_NAME_LENGTH, buildName, canonicalIp } from './names.js';
import { signatureAlgorithmIdentifier } from './signing.js';

export type ValidationLevel = 'dv' | 'ov' | 'ev';

/** CA/Browser Forum reserved policy identifiers (BR 7.1.6.1). */
export const POLICY_OIDS: Record<ValidationLevel, string> = {
  dv: '2.23.140.1.2.1',
  ov: '2.23.140.1.2.2',
  ev: '2.23.140.1.1',
};

/** Maximum TLS leaf validity by issuance date (CA/B Forum ballot SC-081 schedule, after 2026-03-15). */
export function maxLeafValidityDays(notBefore: Date): number {
  const t = notBefore.getTime();
  if (t >= Date.UTC(2029, 2, 15)) return 47;
  if (t >= Date.UTC(2027, 2, 15)) return 100;
  return 200;
}

export interface LeafOrganization {
  name: string;
  locality?: string;
  state?: string;
  /** Two letters, ISO 3166-1. */
  country?: string;
  registrationNumber?: string;
  businessCategory?: string;
  jurisdictionCountry?: string;
}

export interface LeafParams {
  serial: Buffer;
  level: ValidationLevel;
  dnsNames: string[];
  ipAddresses: string[];
  /** SubjectPublicKeyInfo DER. */
  subjectPublicKeyDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  issuer: IssuerHandle;
  aiaIssuerUrl: string;
  crlUrl: string;
  /** Only for ov/ev; lint refuses it on dv. */
  organization?: LeafOrganization;
}

/** The error for a certificate that breaks the profile: nothing was signed; the findings say why. */
export function lintFailed(findings: string[]): CertdeskError {
  return new CertdeskError('LINT_FAILED', `The certificate was not issued because it breaks the CA/B Forum profile: ${findings.join('; ')}.`, {
    status: 422,
    details: { findings },
  });
}

const MAX_CACHED_ISSUERS = 100;
const issuerNames = new Map<string, Name>();
/** Per subjectDer buffer, so a long-lived issuer handle skips hashing its subject into a cache key. */
const issuerNamesByBuffer = new WeakMap<Buffer, Name>();

/** The issuer's subject as a frozen Name that encodes back to exactly `subjectDer`. */
export function issuerName(subjectDer: Buffer): Name {
  let name = issuerNamesByBuffer.get(subjectDer);
  if (name) return name;
  const key = subjectDer.toString('hex');
  name = issuerNames.get(key);
  if (!name) {
    if (issuerNames.size >= MAX_CACHED_ISSUERS) issuerNames.clear();
    name = remember(AsnParser.parse(subjectDer, Name), subjectDer);
    issuerNames.set(key, name);
  }
  issuerNamesByBuffer.set(subjectDer, name);
  return name;
}

const keyAlgorithms = new Map<string, AlgorithmIdentifier>();

/**
 * Parses SPKI DER, keeping the original bytes as its encoding. The key's
 * AlgorithmIdentifier takes one of a handful of values, so it is decoded once
 * per value and the BIT STRING is sliced out directly.
 */
export function parseSpki(spkiDer: Uint8Array): SubjectPublicKeyInfo {
  const outer = readTlv(spkiDer, 0);
  const [algorithmTlv, keyTlv, ...extra] = children(spkiDer, outer);
  if (outer.end !== spkiDer.length || outer.tag !== TAG.sequence || !algorithmTlv || keyTlv?.tag !== TAG.bitString || extra.length > 0) {
    throw new RangeError('not a SubjectPublicKeyInfo');
  }
  if (spkiDer[keyTlv.contentStart] !== 0) throw new RangeError('the public key BIT STRING has unused bits');
  const algorithmDer = spkiDer.subarray(algorithmTlv.start, algorithmTlv.end);
  const key = Buffer.from(algorithmDer).toString('hex');
  let algorithm = keyAlgorithms.get(key);
  if (!algorithm) {
    if (keyAlgorithms.size >= MAX_CACHED_ISSUERS) keyAlgorithms.clear();
    algorithm = remember(AsnParser.parse(algorithmDer, AlgorithmIdentifier), algorithmDer);
    keyAlgorithms.set(key, algorithm);
  }
  const subjectPublicKey = new Uint8Array(spkiDer.subarray(keyTlv.contentStart + 1, keyTlv.end)).buffer;
  return remember(new SubjectPublicKeyInfo({ algorithm, subjectPublicKey }), spkiDer);
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spki: SubjectPublicKeyInfo): Buffer {
  return hash('sha1', new Uint8Array(spki.subjectPublicKey), 'buffer');
}

function subjectAttributes(p: LeafParams, commonName: string | undefined): [string, string][] {
  const attributes: [string, string][] = [];
  const org = p.organization;
  if (org) {
    if (org.jurisdictionCountry) attributes.push([ATTRIBUTE.jurisdictionCountryName, org.jurisdictionCountry]);
    if (org.businessCategory) attributes.push([ATTRIBUTE.businessCategory, org.businessCategory]);
    if (org.registrationNumber) attributes.push([ATTRIBUTE.serialNumber, org.registrationNumber]);
    if (org.country) attributes.push([ATTRIBUTE.countryName, org.country]);
    if (org.state) attributes.push([ATTRIBUTE.stateOrProvinceName, org.state]);
    if (org.locality) attributes.push([ATTRIBUTE.localityName, org.locality]);
    attributes.push([ATTRIBUTE.organizationName, org.name]);
  }
  if (commonName !== undefined) attributes.push([ATTRIBUTE.commonName, commonName]);
  return attributes;
}

/**
 * The TBSCertificate of a CA/B Forum TLS server certificate, built as given:
 * rule violations are left in place for lintLeaf to report. Only what cannot
 * be encoded at all (an IP that is not one, an unreadable key) throws.
 */
export function buildLeafTbs(p: LeafParams): TBSCertificate {
  const ipAddresses = p.ipAddresses.map((ip) => {
    const canonical = canonicalIp(ip);
    if (!canonical) throw lintFailed([`"${ip}" is not an IP address`]);
    return canonical;
  });
  let spki: SubjectPublicKeyInfo;
  try {
    spki = parseSpki(p.subjectPublicKeyDer);
  } catch {
    throw lintFailed(['the subject public key is not SubjectPublicKeyInfo DER']);
  }
  const commonName = [...p.dnsNames, ...ipAddresses].find((name) => name.length <= MAX_COMMON_NAME_LENGTH);
  const subject = buildName(subjectAttributes(p, commonName));
  const rsa = spki.algorithm.algorithm === '1.2.840.113549.1.1.1';
  // keyEncipherment only makes sense for RSA key transport (BR 7.1.2.7.11).
  const keyUsage = KeyUsageFlags.digitalSignature | (rsa ? KeyUsageFlags.keyEncipherment : 0);
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(unsignedIntegerContent(p.serial)).buffer,
    signature: signatureAlgorithmIdentifier(p.issuer.signatureAlgorithm),
    issuer: issuerName(p.issuer.subjectDer),
    validity: new Validity({ notBefore: p.notBefore, notAfter: p.notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      authorityKeyIdentifierExtension(p.issuer.subjectKeyId),
      subjectKeyIdentifierExtension(keyIdentifier(spki)),
      keyUsageExtension(keyUsage),
      extendedKeyUsageExtension([id_kp_serverAuth]),
      basicConstraintsExtension(false),
      certificatePoliciesExtension([POLICY_OIDS[p.level]]),
      authorityInfoAccessExtension(p.aiaIssuerUrl),
      crlDistributionPointsExtension(p.crlUrl),
      subjectAltNameExtension(p.dnsNames, ipAddresses, subject.length === 0),
    ]),
  });
}
