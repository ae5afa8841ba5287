import { hash } from 'node:crypto';
import { AsnParser } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Extension,
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
import { TAG, readTlv, unsignedIntegerContent } from './der.js';
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
import { RSA_KEY_OID } from './keys.js';
import { ATTRIBUTE, MAX_COMMON_NAME_LENGTH, buildName, canonicalIp, type NameAttribute } from './names.js';
import { signatureAlgorithmIdentifier } from './signing.js';

export type ValidationLevel = 'dv' | 'ov' | 'ev';

/** CA/Browser Forum reserved policy identifiers (BR 7.1.6.1). */
export const POLICY_OIDS: Record<ValidationLevel, string> = {
  dv: '2.23.140.1.2.1',
  ov: '2.23.140.1.2.2',
  ev: '2.23.140.1.1',
};

/** Maximum TLS leaf validity by issuance date (CA/B Forum ballot SC-081 schedule, after 2026-03-15). */
const SC081_2029 = Date.UTC(2029, 2, 15);
const SC081_2027 = Date.UTC(2027, 2, 15);

export function maxLeafValidityDays(notBefore: Date): number {
  const t = notBefore.getTime();
  if (t >= SC081_2029) return 47;
  if (t >= SC081_2027) return 100;
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

export const SPKI_UNREADABLE = 'the subject public key is not SubjectPublicKeyInfo DER';

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

/** The AlgorithmIdentifiers of subject keys seen, with their DER; a handful in practice. */
const keyAlgorithms: { der: Buffer; algorithm: AlgorithmIdentifier }[] = [];

/**
 * Splits SPKI DER into its AlgorithmIdentifier and the bits of its
 * subjectPublicKey. The AlgorithmIdentifier takes one of a handful of values,
 * so it is decoded once per value (shared, frozen) and the BIT STRING is
 * sliced out directly. Throws RangeError when the bytes are not SPKI.
 */
export function readSpki(spkiDer: Uint8Array): { algorithm: AlgorithmIdentifier; publicKey: Uint8Array } {
  const outer = readTlv(spkiDer, 0);
  const algorithmTlv = readTlv(spkiDer, outer.contentStart);
  const keyTlv = readTlv(spkiDer, algorithmTlv.end);
  if (outer.tag !== TAG.sequence || outer.end !== spkiDer.length || algorithmTlv.tag !== TAG.sequence || keyTlv.tag !== TAG.bitString || keyTlv.end !== outer.end) {
    throw new RangeError('not a SubjectPublicKeyInfo');
  }
  if (keyTlv.end === keyTlv.contentStart || spkiDer[keyTlv.contentStart] !== 0) throw new RangeError('the public key BIT STRING has unused bits');
  const algorithmDer = spkiDer.subarray(algorithmTlv.start, algorithmTlv.end);
  let known = keyAlgorithms.find((entry) => entry.der.equals(algorithmDer));
  if (!known) {
    if (keyAlgorithms.length >= MAX_CACHED_ISSUERS) keyAlgorithms.length = 0;
    const der = Buffer.from(algorithmDer);
    known = { der, algorithm: remember(AsnParser.parse(der, AlgorithmIdentifier), der) };
    keyAlgorithms.push(known);
  }
  return { algorithm: known.algorithm, publicKey: spkiDer.subarray(keyTlv.contentStart + 1, keyTlv.end) };
}

/** Parses SPKI DER, keeping the original bytes as its encoding. */
export function parseSpki(spkiDer: Uint8Array): SubjectPublicKeyInfo {
  const { algorithm, publicKey } = readSpki(spkiDer);
  return remember(new SubjectPublicKeyInfo({ algorithm, subjectPublicKey: new Uint8Array(publicKey).buffer }), spkiDer);
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: Uint8Array): Buffer {
  // Through a latin1 string: node returns a digest as a string faster than as a Buffer ("binary" is latin1).
  return Buffer.from(hash('sha1', publicKey, 'binary'), 'latin1');
}

/** The request's IP addresses in canonical text; one that is not an IP address cannot be encoded at all. */
export function leafIpAddresses(p: LeafParams): string[] {
  return p.ipAddresses.map((ip) => {
    const canonical = canonicalIp(ip);
    if (!canonical) throw lintFailed([`"${ip}" is not an IP address`]);
    return canonical;
  });
}

/** The subject: the organization's attributes (OV, EV) and the first SAN entry short enough for the CN. */
export function leafSubjectAttributes(p: LeafParams, ipAddresses: readonly string[]): NameAttribute[] {
  const attributes: NameAttribute[] = [];
  const add = (type: string, value: string | undefined) => {
    if (value) attributes.push({ type, value });
  };
  const org = p.organization;
  if (org) {
    add(ATTRIBUTE.jurisdictionCountryName, org.jurisdictionCountry);
    add(ATTRIBUTE.businessCategory, org.businessCategory);
    add(ATTRIBUTE.serialNumber, org.registrationNumber);
    add(ATTRIBUTE.countryName, org.country);
    add(ATTRIBUTE.stateOrProvinceName, org.state);
    add(ATTRIBUTE.localityName, org.locality);
    attributes.push({ type: ATTRIBUTE.organizationName, value: org.name });
  }
  const fitsCn = (name: string) => name.length <= MAX_COMMON_NAME_LENGTH;
  const commonName = p.dnsNames.find(fitsCn) ?? ipAddresses.find(fitsCn);
  if (commonName !== undefined) attributes.push({ type: ATTRIBUTE.commonName, value: commonName });
  return attributes;
}

/**
 * What the parts shared by many leaves depend on: the issuer, the level (its
 * policy OID), whether the key is RSA (keyUsage) and the two URLs.
 */
export interface LeafTemplateInputs {
  issuer: IssuerHandle;
  level: ValidationLevel;
  rsaKey: boolean;
  aiaIssuerUrl: string;
  crlUrl: string;
}

/**
 * The extensions that are equal for every leaf with the same inputs, in
 * certificate order: AKI precedes the subjectKeyIdentifier, keyUsage to CRL
 * distribution points follow it, and the subjectAltName comes last.
 */
export function constantLeafExtensions(inputs: LeafTemplateInputs): { beforeSki: Extension[]; afterSki: Extension[] } {
  // keyEncipherment only makes sense for RSA key transport (BR 7.1.2.7.11).
  const keyUsage = KeyUsageFlags.digitalSignature | (inputs.rsaKey ? KeyUsageFlags.keyEncipherment : 0);
  return {
    beforeSki: [authorityKeyIdentifierExtension(inputs.issuer.subjectKeyId)],
    afterSki: [
      keyUsageExtension(keyUsage),
      extendedKeyUsageExtension([id_kp_serverAuth]),
      basicConstraintsExtension(false),
      certificatePoliciesExtension([POLICY_OIDS[inputs.level]]),
      authorityInfoAccessExtension(inputs.aiaIssuerUrl),
      crlDistributionPointsExtension(inputs.crlUrl),
    ],
  };
}

/**
 * The TBSCertificate of a CA/B Forum TLS server certificate as schema
 * objects, built as given: rule violations are left in place for lintLeaf to
 * report. Only what cannot be encoded at all (an IP that is not one, an
 * unreadable key) throws. issueLeaf writes the same bytes from a template
 * (leaf_template.ts); unit tests hold the two to each other.
 */
export function buildLeafTbs(p: LeafParams): TBSCertificate {
  const ipAddresses = leafIpAddresses(p);
  let spki: SubjectPublicKeyInfo;
  try {
    spki = parseSpki(p.subjectPublicKeyDer);
  } catch {
    throw lintFailed([SPKI_UNREADABLE]);
  }
  const subject = buildName(leafSubjectAttributes(p, ipAddresses).map(({ type, value }) => [type, value]));
  const { beforeSki, afterSki } = constantLeafExtensions({ ...p, rsaKey: spki.algorithm.algorithm === RSA_KEY_OID });
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(unsignedIntegerContent(p.serial)).buffer,
    signature: signatureAlgorithmIdentifier(p.issuer.signatureAlgorithm),
    issuer: issuerName(p.issuer.subjectDer),
    validity: new Validity({ notBefore: p.notBefore, notAfter: p.notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      ...beforeSki,
      subjectKeyIdentifierExtension(keyIdentifier(new Uint8Array(spki.subjectPublicKey))),
      ...afterSki,
      subjectAltNameExtension(p.dnsNames, ipAddresses, subject.length === 0),
    ]),
  });
}
