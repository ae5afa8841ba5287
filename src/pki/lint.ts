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
import { toDer } from './encoded.js';
import { TAG, readTlv, type Tlv } from './der.js';
import { EXTENSION, EXTENSION_NAMES, extensionValue, readExtension, readSubjectAltName, type AltNames } from './extensions.js';
import { keyPolicyProblem, spkiFacts } from './keys.js';
import { ATTRIBUTE, ATTRIBUTE_SHORT_NAMES, MAX_COMMON_NAME_LENGTH, canonicalIp, dnsNameProblem, nameAttributes } from './names.js';
import { POLICY_OIDS, maxLeafValidityDays, type LeafParams } from './profile.js';
import { describeSignatureOid, signatureAlgorithmOid } from './signing.js';

type Findings = string[];
const RSA_OID = '1.2.840.113549.1.1.1';
const CABF_POLICY_ARC = '2.23.140.1.';

/** What an extension check may depend on besides the extension itself. */
interface Context {
  tbs: TBSCertificate;
  p: LeafParams;
}

interface ExtensionRule {
  /** Findings depend on the extension alone, so a shared (frozen) extension is checked once. */
  contextFree: boolean;
  check(ext: Extension, findings: Findings, context: Context): void;
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

/** The profile of a TLS server certificate: exactly these extensions, each checked by its rule. */
const RULES: Record<string, ExtensionRule> = {
  [EXTENSION.authorityKeyIdentifier]: {
    contextFree: false,
    check(ext, findings, { p }) {
      const aki = decode(ext, AuthorityKeyIdentifier, findings);
      if (aki && !(aki.keyIdentifier && Buffer.from(aki.keyIdentifier.buffer).equals(p.issuer.subjectKeyId))) {
        findings.push("the authorityKeyIdentifier does not match the issuing CA's subjectKeyIdentifier");
      }
    },
  },
  [EXTENSION.subjectKeyIdentifier]: {
    contextFree: true,
    check(ext, findings) {
      const value = extensionValue(ext);
      let keyId: Tlv | undefined;
      try {
        keyId = readTlv(value, 0);
      } catch {
        keyId = undefined;
      }
      if (!keyId || keyId.tag !== TAG.octetString || keyId.end !== value.length) findings.push('the subjectKeyIdentifier extension cannot be decoded');
      else if (keyId.end === keyId.contentStart) findings.push('the subjectKeyIdentifier is empty');
    },
  },
  [EXTENSION.keyUsage]: {
    contextFree: false,
    check(ext, findings, { tbs }) {
      const usage = decode(ext, KeyUsage, findings);
      if (!usage) return;
      if (!ext.critical) findings.push('keyUsage must be critical');
      const flags = usage.toNumber();
      if (!(flags & KeyUsageFlags.digitalSignature)) findings.push('keyUsage must include digitalSignature');
      const rsa = tbs.subjectPublicKeyInfo.algorithm.algorithm === RSA_OID;
      const allowed = KeyUsageFlags.digitalSignature | (rsa ? KeyUsageFlags.keyEncipherment : 0);
      if (flags & ~allowed) {
        findings.push(`keyUsage ${new KeyUsage(flags & ~allowed).toJSON().join(', ')} is not allowed for this key in a TLS server certificate`);
      }
    },
  },
  [EXTENSION.extKeyUsage]: {
    contextFree: true,
    check(ext, findings) {
      const eku = decode(ext, ExtendedKeyUsage, findings);
      if (eku && !(eku.length === 1 && eku[0] === id_kp_serverAuth)) {
        findings.push(`extKeyUsage must be exactly serverAuth, found ${Array.from(eku).join(', ') || 'none'}`);
      }
    },
  },
  [EXTENSION.basicConstraints]: {
    contextFree: true,
    check(ext, findings) {
      const value = decode(ext, BasicConstraints, findings);
      if (!value) return;
      if (!ext.critical) findings.push('basicConstraints must be critical');
      if (value.cA) findings.push('basicConstraints must say cA=false: a TLS server certificate is not a CA');
      if (value.pathLenConstraint !== undefined) findings.push('basicConstraints must not carry a pathLenConstraint');
    },
  },
  [EXTENSION.certificatePolicies]: {
    contextFree: false,
    check(ext, findings, { p }) {
      const policies = decode(ext, CertificatePolicies, findings);
      if (!policies) return;
      const cabf: string[] = [];
      for (const { policyIdentifier } of policies) {
        if (policyIdentifier === id_ce_certificatePolicies_anyPolicy) findings.push('certificatePolicies must not contain anyPolicy');
        if (policyIdentifier.startsWith(CABF_POLICY_ARC)) cabf.push(policyIdentifier);
      }
      if (cabf.length !== 1) findings.push(`certificatePolicies must carry exactly one CA/B Forum policy OID, found ${cabf.length}`);
      else if (cabf[0] !== POLICY_OIDS[p.level]) {
        findings.push(`policy ${cabf[0]} does not match validation level ${p.level}, which requires ${POLICY_OIDS[p.level]}`);
      }
    },
  },
  [EXTENSION.authorityInfoAccess]: {
    contextFree: true,
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
    contextFree: true,
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
  // Checked by lintSubjectAltName, which also returns the entries for the subject check.
  [EXTENSION.subjectAltName]: { contextFree: true, check() {} },
};

/** Findings of shared (frozen) extensions whose rule is context-free. */
const sharedFindings = new WeakMap<Extension, Findings>();

function lintExtensions(tbs: TBSCertificate, p: LeafParams, findings: Findings): Map<string, Extension> {
  const byId = new Map<string, Extension>();
  for (const ext of tbs.extensions ?? []) {
    const rule = RULES[ext.extnID];
    if (byId.has(ext.extnID)) findings.push(`the ${extensionName(ext.extnID)} extension appears more than once`);
    else byId.set(ext.extnID, ext);
    if (!rule) {
      findings.push(`the extension ${extensionName(ext.extnID)} is not part of the TLS server certificate profile`);
      continue;
    }
    if (rule.contextFree && Object.isFrozen(ext)) {
      let cached = sharedFindings.get(ext);
      if (!cached) {
        cached = [];
        rule.check(ext, cached, { tbs, p });
        sharedFindings.set(ext, cached);
      }
      findings.push(...cached);
    } else {
      rule.check(ext, findings, { tbs, p });
    }
  }
  for (const id of Object.keys(RULES)) {
    if (!byId.has(id)) findings.push(`the ${extensionName(id)} extension is missing`);
  }
  return byId;
}

/** Lints the SAN and returns its entries (DNS names as written, IPs canonical). */
function lintSubjectAltName(tbs: TBSCertificate, p: LeafParams, ext: Extension | undefined, findings: Findings): string[] {
  if (!ext) return [];
  let names: AltNames;
  try {
    names = readSubjectAltName(ext);
  } catch {
    findings.push('the subjectAltName extension cannot be decoded');
    return [];
  }
  if (names.dnsNames.length + names.ipAddresses.length + names.others === 0) findings.push('subjectAltName is empty');
  const subjectEmpty = tbs.subject.length === 0;
  if (ext.critical !== subjectEmpty) {
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

function lintValidity(tbs: TBSCertificate, findings: Findings): void {
  const notBefore = tbs.validity.notBefore.getTime();
  const notAfter = tbs.validity.notAfter.getTime();
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

function lintSubject(tbs: TBSCertificate, p: LeafParams, sanEntries: string[], findings: Findings): void {
  const attributes = nameAttributes(tbs.subject);
  const present = new Set(attributes.map((a) => a.type));
  const shortName = (type: string) => ATTRIBUTE_SHORT_NAMES[type] ?? type;
  let commonNames = 0;
  for (const { type, value } of attributes) {
    if (type === ATTRIBUTE.countryName || type === ATTRIBUTE.jurisdictionCountryName) {
      if (!/^[A-Z]{2}$/.test(value)) findings.push(`${shortName(type)} "${value}" must be a two-letter uppercase ISO 3166 code`);
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
 * TLS server profile and against what `p` requested. Returns human-readable
 * findings; an empty list means it may be signed.
 */
export function lintLeaf(tbs: TBSCertificate, p: LeafParams): string[] {
  const findings: Findings = [];
  if (tbs.version !== Version.v3) findings.push('the certificate must be version 3');
  if (tbs.issuerUniqueID || tbs.subjectUniqueID) findings.push('the certificate must not carry unique identifiers');
  lintSerial(new Uint8Array(tbs.serialNumber), findings);

  const signature = describeSignatureOid(tbs.signature.algorithm);
  if (signature.weak) findings.push(`the signature algorithm ${signature.name} uses SHA-1 or MD5`);
  else if (tbs.signature.algorithm !== signatureAlgorithmOid(p.issuer.signatureAlgorithm)) {
    findings.push(`the signature algorithm ${signature.name} does not match the issuing CA's key`);
  }
  if (!toDer(tbs.issuer).equals(p.issuer.subjectDer)) findings.push("the issuer name differs from the issuing CA's subject");

  lintValidity(tbs, findings);

  const key = keyPolicyProblem(spkiFacts(tbs.subjectPublicKeyInfo));
  if (key) findings.push(`the subject key: ${key.problem}`);
  if (!toDer(tbs.subjectPublicKeyInfo).equals(p.subjectPublicKeyDer)) findings.push('the subject public key differs from the requested key');

  const extensions = lintExtensions(tbs, p, findings);
  const sanEntries = lintSubjectAltName(tbs, p, extensions.get(EXTENSION.subjectAltName), findings);
  lintSubject(tbs, p, sanEntries, findings);
  return findings;
}
