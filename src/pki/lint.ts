/**
 * The CA/B Forum Baseline Requirements TLS server profile, as rules over the
 * two kinds of parts a leaf is made of:
 *  - constant parts (version, signature algorithm, issuer, the extensions other
 *    than SKI and SAN), which depend only on the template's inputs
 *    (LeafTemplateInputs) and are linted once per template;
 *  - varying parts (serial, validity, key, subject, SKI, SAN), linted for
 *    every certificate.
 * lintLeaf applies both to a TBSCertificate; issueLeaf applies the first when
 * it builds a template and the second to each certificate, so every rule
 * holds for every certificate it signs.
 */
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  ExtendedKeyUsage,
  Extension,
  KeyUsage,
  KeyUsageFlags,
  TBSCertificate,
  Version,
  id_ad_caIssuers,
  id_ce_certificatePolicies_anyPolicy,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { isCountryCode } from './countries.js';
import { toDer } from './encoded.js';
import { TAG, readTlv, type Tlv } from './der.js';
import { EXTENSION, EXTENSION_NAMES, extensionValue, readExtension, readSubjectAltNameValue, type AltNames } from './extensions.js';
import { RSA_KEY_OID, keyPolicyProblem, spkiFacts, type KeyFacts } from './keys.js';
import { ATTRIBUTE, ATTRIBUTE_SHORT_NAMES, MAX_COMMON_NAME_LENGTH, canonicalIp, dnsNameProblem, nameAttributes, type NameAttribute } from './names.js';
import { POLICY_OIDS, maxLeafValidityDays, type LeafParams, type LeafTemplateInputs } from './profile.js';
import { describeSignatureOid, signatureAlgorithmOid } from './signing.js';

type Findings = string[];
const CABF_POLICY_ARC = '2.23.140.1.';

interface ExtensionRule {
  check(ext: Extension, findings: Findings, inputs: LeafTemplateInputs): void;
}

const extensionName = (id: string): string => EXTENSION_NAMES[id] ?? id;

/** Decodes an extension's value; an undecodable value becomes a finding. */
function decode<T>(ext: Extension, type: new () => T, findings: Findings): T | undefined {
  try {
    return readExtension(ext, type);
  } catch {
    findings.push(`the ${extensionName(ext.extnID)} extension cannot be decoded`);
    return undefined;
  }
}

function httpUrlProblem(url: string | undefined, what: string): string | undefined {
  if (!url) return `${what} has no URL`;
  try {
    if (new URL(url).protocol === 'http:') return undefined;
  } catch {
    return `${what} URL "${url}" is not a URL`;
  }
  return `${what} URL "${url}" must use http:// (BR 7.1.2.7)`;
}

/**
 * The rules of the extensions a leaf shares with every leaf of its template.
 * They read the extension and the template's inputs, nothing that varies per
 * certificate, so a template is checked against them once.
 */
const CONSTANT_EXTENSION_RULES: Record<string, ExtensionRule> = {
  [EXTENSION.authorityKeyIdentifier]: {
    check(ext, findings, { issuer }) {
      const aki = decode(ext, AuthorityKeyIdentifier, findings);
      if (aki && !(aki.keyIdentifier && Buffer.from(aki.keyIdentifier.buffer).equals(issuer.subjectKeyId))) {
        findings.push("the authorityKeyIdentifier does not match the issuing CA's subjectKeyIdentifier");
      }
    },
  },
  [EXTENSION.keyUsage]: {
    check(ext, findings, { rsaKey }) {
      const usage = decode(ext, KeyUsage, findings);
      if (!usage) return;
      if (!ext.critical) findings.push('keyUsage must be critical');
      const flags = usage.toNumber();
      if (!(flags & KeyUsageFlags.digitalSignature)) findings.push('keyUsage must include digitalSignature');
      const allowed = KeyUsageFlags.digitalSignature | (rsaKey ? KeyUsageFlags.keyEncipherment : 0);
      if (flags & ~allowed) {
        findings.push(`keyUsage ${new KeyUsage(flags & ~allowed).toJSON().join(', ')} is not allowed for this key in a TLS server certificate`);
      }
    },
  },
  [EXTENSION.extKeyUsage]: {
    check(ext, findings) {
      const eku = decode(ext, ExtendedKeyUsage, findings);
      if (eku && !(eku.length === 1 && eku[0] === id_kp_serverAuth)) {
        findings.push(`extKeyUsage must be exactly serverAuth, found ${Array.from(eku).join(', ') || 'none'}`);
      }
    },
  },
  [EXTENSION.basicConstraints]: {
    check(ext, findings) {
      const value = decode(ext, BasicConstraints, findings);
      if (!value) return;
      if (!ext.critical) findings.push('basicConstraints must be critical');
      if (value.cA) findings.push('basicConstraints must say cA=false: a TLS server certificate is not a CA');
      if (value.pathLenConstraint !== undefined) findings.push('basicConstraints must not carry a pathLenConstraint');
    },
  },
  [EXTENSION.certificatePolicies]: {
    check(ext, findings, { level }) {
      const policies = decode(ext, CertificatePolicies, findings);
      if (!policies) return;
      const cabf: string[] = [];
      for (const { policyIdentifier } of policies) {
        if (policyIdentifier === id_ce_certificatePolicies_anyPolicy) findings.push('certificatePolicies must not contain anyPolicy');
        if (policyIdentifier.startsWith(CABF_POLICY_ARC)) cabf.push(policyIdentifier);
      }
      if (cabf.length !== 1) findings.push(`certificatePolicies must carry exactly one CA/B Forum policy OID, found ${cabf.length}`);
      else if (cabf[0] !== POLICY_OIDS[level]) {
        findings.push(`policy ${cabf[0]} does not match validation level ${level}, which requires ${POLICY_OIDS[level]}`);
      }
    },
  },
  [EXTENSION.authorityInfoAccess]: {
    check(ext, findings) {
      const aia = decode(ext, AuthorityInfoAccessSyntax, findings);
      if (!aia) return;
      let caIssuers = 0;
      for (const access of aia) {
        if (access.accessMethod !== id_ad_caIssuers) continue;
        caIssuers++;
        const problem = httpUrlProblem(access.accessLocation.uniformResourceIdentifier, 'the authorityInfoAccess caIssuers');
        if (problem) findings.push(problem);
      }
      if (caIssuers === 0) findings.push('authorityInfoAccess has no caIssuers URL');
    },
  },
  [EXTENSION.cRLDistributionPoints]: {
    check(ext, findings) {
      const points = decode(ext, CRLDistributionPoints, findings);
      if (!points) return;
      let urls = 0;
      for (const point of points) {
        for (const name of point.distributionPoint?.fullName ?? []) {
          urls++;
          const problem = httpUrlProblem(name.uniformResourceIdentifier, 'the cRLDistributionPoints');
          if (problem) findings.push(problem);
        }
      }
      if (urls === 0) findings.push('cRLDistributionPoints has no URL');
    },
  },
};

/** Checked with the varying parts: their values differ for every certificate. */
const PER_CERTIFICATE_EXTENSIONS: readonly string[] = [EXTENSION.subjectKeyIdentifier, EXTENSION.subjectAltName];

/** The profile of a TLS server certificate: exactly these extensions. */
const PROFILE_EXTENSIONS: readonly string[] = [...Object.keys(CONSTANT_EXTENSION_RULES), ...PER_CERTIFICATE_EXTENSIONS];

/** The parts of a leaf shared by every certificate of one template. */
export interface ConstantParts {
  version: number;
  uniqueIdentifiers: boolean;
  signatureOid: string;
  issuerDer: Uint8Array;
  /** The ID of every extension in certificate order, the per-certificate ones included. */
  extensionIds: readonly string[];
  /** The extensions other than the per-certificate ones (SKI, SAN). */
  extensions: readonly Extension[];
}

/** An extension's criticality and the content of its extnValue. */
export interface ExtensionValue {
  critical: boolean;
  value: Uint8Array;
}

/** The parts of a leaf written anew for each certificate, as encoded. */
export interface VaryingParts {
  /** Content octets of the serialNumber INTEGER. */
  serial: Uint8Array;
  /** Whole seconds, as the certificate holds them. */
  notBefore: Date;
  notAfter: Date;
  spkiDer: Uint8Array;
  key: KeyFacts;
  subject: readonly NameAttribute[];
  subjectKeyIdentifier: ExtensionValue | undefined;
  subjectAltName: ExtensionValue | undefined;
}

/** Lints the constant parts against the profile and the template's inputs. */
export function lintConstantParts(parts: ConstantParts, inputs: LeafTemplateInputs): string[] {
  const findings: Findings = [];
  if (parts.version !== Version.v3) findings.push('the certificate must be version 3');
  if (parts.uniqueIdentifiers) findings.push('the certificate must not carry unique identifiers');
  const signature = describeSignatureOid(parts.signatureOid);
  if (signature.weak) findings.push(`the signature algorithm ${signature.name} uses SHA-1 or MD5`);
  else if (parts.signatureOid !== signatureAlgorithmOid(inputs.issuer.signatureAlgorithm)) {
    findings.push(`the signature algorithm ${signature.name} does not match the issuing CA's key`);
  }
  if (!Buffer.from(parts.issuerDer).equals(inputs.issuer.subjectDer)) findings.push("the issuer name differs from the issuing CA's subject");

  const seen = new Set<string>();
  for (const id of parts.extensionIds) {
    if (seen.has(id)) findings.push(`the ${extensionName(id)} extension appears more than once`);
    seen.add(id);
    if (!PROFILE_EXTENSIONS.includes(id)) findings.push(`the extension ${extensionName(id)} is not part of the TLS server certificate profile`);
  }
  for (const id of PROFILE_EXTENSIONS) {
    if (!seen.has(id)) findings.push(`the ${extensionName(id)} extension is missing`);
  }
  for (const ext of parts.extensions) CONSTANT_EXTENSION_RULES[ext.extnID]?.check(ext, findings, inputs);
  return findings;
}

/**
 * Lints the varying parts against the profile and the request. `inputs` are
 * those of the template the constant parts came from: its keyUsage was chosen
 * for an RSA key or not, so the key must be of that kind.
 */
export function lintVaryingParts(parts: VaryingParts, p: LeafParams, inputs: LeafTemplateInputs): string[] {
  const findings: Findings = [];
  lintSerial(parts.serial, findings);
  lintValidity(parts.notBefore, parts.notAfter, findings);
  const key = keyPolicyProblem(parts.key);
  if (key) findings.push(`the subject key: ${key.problem}`);
  if ((parts.key.type === 'rsa') !== inputs.rsaKey) findings.push(`the keyUsage was chosen for ${inputs.rsaKey ? 'an RSA' : 'a non-RSA'} key`);
  if (!p.subjectPublicKeyDer.equals(parts.spkiDer)) findings.push('the subject public key differs from the requested key');
  if (parts.subjectKeyIdentifier) lintSubjectKeyIdentifier(parts.subjectKeyIdentifier.value, findings);
  const sanEntries = parts.subjectAltName ? lintSubjectAltName(parts.subjectAltName, parts.subject.length === 0, p, findings) : [];
  lintSubject(parts.subject, p, sanEntries, findings);
  return findings;
}

function lintSubjectKeyIdentifier(value: Uint8Array, findings: Findings): void {
  let keyId: Tlv | undefined;
  try {
    keyId = readTlv(value, 0);
  } catch {
    keyId = undefined;
  }
  if (!keyId || keyId.tag !== TAG.octetString || keyId.end !== value.length) findings.push('the subjectKeyIdentifier extension cannot be decoded');
  else if (keyId.end === keyId.contentStart) findings.push('the subjectKeyIdentifier is empty');
}

/** Lints the SAN and returns its entries (DNS names as written, IPs canonical). */
function lintSubjectAltName(san: ExtensionValue, subjectEmpty: boolean, p: LeafParams, findings: Findings): string[] {
  let names: AltNames;
  try {
    names = readSubjectAltNameValue(san.value);
  } catch {
    findings.push('the subjectAltName extension cannot be decoded');
    return [];
  }
  if (names.dnsNames.length + names.ipAddresses.length + names.others === 0) findings.push('subjectAltName is empty');
  if (san.critical !== subjectEmpty) {
    findings.push(subjectEmpty ? 'subjectAltName must be critical when the subject is empty' : 'subjectAltName must not be critical when the subject is not empty');
  }
  const entries: string[] = [];
  for (const name of names.dnsNames) {
    const problem = dnsNameProblem(name);
    if (problem) findings.push(`the DNS name "${name}" ${problem}`);
    entries.push(name);
  }
  for (const ip of names.ipAddresses) {
    if (ip) entries.push(ip);
    else findings.push('a SAN IP address is not a single IPv4 or IPv6 address');
  }
  if (names.others > 0) findings.push('subjectAltName may contain only DNS names and IP addresses');
  const present = new Set(entries);
  if (present.size !== entries.length) findings.push('subjectAltName lists a name more than once');
  const requested = new Set([...p.dnsNames, ...p.ipAddresses.map((ip) => canonicalIp(ip) ?? ip)]);
  if (requested.size !== present.size || [...requested].some((name) => !present.has(name))) {
    findings.push('subjectAltName does not list exactly the requested names');
  }
  return entries;
}

function lintSerial(serial: Uint8Array, findings: Findings): void {
  const first = serial[0] ?? 0;
  if (first & 0x80) findings.push('the serial number is negative');
  if (serial.every((b) => b === 0)) findings.push('the serial number is zero');
  if (serial.length > 1 && first === 0 && !((serial[1] as number) & 0x80)) findings.push('the serial number is not minimally encoded');
  if (serial.length > 20) findings.push(`the serial number is ${serial.length} octets long; at most 20 are allowed`);
  // 64 random bits fill at least 8 octets, 9 once a sign octet is added.
  if (serial.length < 9) findings.push(`the serial number has ${serial.length} octets; at least 64 random bits (9 octets) are required`);
}

function lintValidity(notBefore: Date, notAfter: Date, findings: Findings): void {
  if (notAfter.getTime() <= notBefore.getTime()) {
    findings.push('notAfter must be later than notBefore');
    return;
  }
  const maxDays = maxLeafValidityDays(notBefore);
  // BR 1.6.1: a validity period counts both ends, one second more than the difference.
  const seconds = (notAfter.getTime() - notBefore.getTime()) / 1000 + 1;
  if (seconds > maxDays * 86400) {
    findings.push(
      `the validity period of ${(seconds / 86400).toFixed(2)} days exceeds the ${maxDays}-day maximum for certificates valid from ${notBefore.toISOString()}`,
    );
  }
}

function lintSubject(attributes: readonly NameAttribute[], p: LeafParams, sanEntries: string[], findings: Findings): void {
  const present = new Set(attributes.map((a) => a.type));
  const shortName = (type: string) => ATTRIBUTE_SHORT_NAMES[type] ?? type;
  let commonNames = 0;
  for (const { type, value } of attributes) {
    if (type === ATTRIBUTE.countryName || type === ATTRIBUTE.jurisdictionCountryName) {
      if (!isCountryCode(value)) findings.push(`${shortName(type)} "${value}" must be an assigned two-letter uppercase ISO 3166-1 code`);
    }
    if (type !== ATTRIBUTE.commonName) continue;
    commonNames++;
    if (!sanEntries.includes(value)) findings.push(`the subject CN "${value}" is not one of the subjectAltName entries`);
    if (value.length > MAX_COMMON_NAME_LENGTH) findings.push(`the subject CN is longer than ${MAX_COMMON_NAME_LENGTH} characters`);
  }
  if (commonNames > 1) findings.push('the subject has more than one CN');
  if (p.level === 'dv') {
    const identity = [...present].filter((type) => type !== ATTRIBUTE.commonName);
    if (identity.length > 0) findings.push(`a DV certificate's subject may carry only CN, found ${identity.map(shortName).join(', ')}`);
    return;
  }
  const required: string[] = [ATTRIBUTE.organizationName, ATTRIBUTE.countryName];
  // EV Guidelines 7.1.4.2: registration number, business category and jurisdiction identify the subject.
  if (p.level === 'ev') required.push(ATTRIBUTE.serialNumber, ATTRIBUTE.businessCategory, ATTRIBUTE.jurisdictionCountryName);
  const missing = required.filter((type) => !present.has(type));
  const level = p.level.toUpperCase();
  if (missing.length > 0) findings.push(`an ${level} certificate's subject must carry ${missing.map(shortName).join(', ')}`);
  if (!present.has(ATTRIBUTE.localityName) && !present.has(ATTRIBUTE.stateOrProvinceName)) {
    findings.push(`an ${level} certificate's subject must carry L or ST`);
  }
}

/**
 * Checks a leaf TBSCertificate against the CA/B Forum Baseline Requirements
 * TLS server profile and against what `p` requested: every rule, constant
 * and varying parts alike. Returns human-readable findings; an empty list
 * means it may be signed.
 */
export function lintLeaf(tbs: TBSCertificate, p: LeafParams): string[] {
  const extensions = Array.from(tbs.extensions ?? []);
  const perCertificate = (id: string): ExtensionValue | undefined => {
    const ext = extensions.find((e) => e.extnID === id);
    return ext && { critical: ext.critical, value: extensionValue(ext) };
  };
  const inputs: LeafTemplateInputs = {
    issuer: p.issuer,
    level: p.level,
    rsaKey: tbs.subjectPublicKeyInfo.algorithm.algorithm === RSA_KEY_OID,
    aiaIssuerUrl: p.aiaIssuerUrl,
    crlUrl: p.crlUrl,
  };
  const constant: ConstantParts = {
    version: tbs.version,
    uniqueIdentifiers: Boolean(tbs.issuerUniqueID || tbs.subjectUniqueID),
    signatureOid: tbs.signature.algorithm,
    issuerDer: toDer(tbs.issuer),
    extensionIds: extensions.map((e) => e.extnID),
    extensions: extensions.filter((e) => !PER_CERTIFICATE_EXTENSIONS.includes(e.extnID)),
  };
  const varying: VaryingParts = {
    serial: new Uint8Array(tbs.serialNumber),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    spkiDer: toDer(tbs.subjectPublicKeyInfo),
    key: spkiFacts(tbs.subjectPublicKeyInfo),
    subject: nameAttributes(tbs.subject),
    subjectKeyIdentifier: perCertificate(EXTENSION.subjectKeyIdentifier),
    subjectAltName: perCertificate(EXTENSION.subjectAltName),
  };
  return [...lintConstantParts(constant, inputs), ...lintVaryingParts(varying, p, inputs)];
}
