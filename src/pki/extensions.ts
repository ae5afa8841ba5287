import { AsnConvert, AsnParser, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  CRLReason,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  PolicyInformation,
  id_ad_caIssuers,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_cRLDistributionPoints,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { TAG, children, readTlv, tlv } from './der.js';
import { remember } from './encoded.js';
import { ipFromBytes, ipToBytes } from './names.js';

export const EXTENSION = {
  authorityKeyIdentifier: id_ce_authorityKeyIdentifier,
  subjectKeyIdentifier: id_ce_subjectKeyIdentifier,
  keyUsage: id_ce_keyUsage,
  extKeyUsage: id_ce_extKeyUsage,
  basicConstraints: id_ce_basicConstraints,
  certificatePolicies: id_ce_certificatePolicies,
  authorityInfoAccess: id_pe_authorityInfoAccess,
  cRLDistributionPoints: id_ce_cRLDistributionPoints,
  subjectAltName: id_ce_subjectAltName,
  cRLNumber: id_ce_cRLNumber,
  reasonCode: id_ce_cRLReasons,
} as const;

export const EXTENSION_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(EXTENSION).map(([name, oid]) => [oid, name]),
);

/** The value each extension was built from, so lint reads it without decoding the bytes again. */
const builtFrom = new WeakMap<Extension, object>();

export function extension(extnID: string, critical: boolean, value: object): Extension {
  const built = new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  builtFrom.set(built, value);
  return built;
}

/** An extension whose value was DER-encoded by hand: the per-certificate ones, on the signing hot path. */
function rawExtension(extnID: string, critical: boolean, valueDer: Uint8Array): Extension {
  // An exact-size ArrayBuffer spares OctetString its generic conversion.
  return new Extension({ extnID, critical, extnValue: new OctetString(new Uint8Array(valueDer).buffer) });
}

/** The bytes of an extension's value. */
export function extensionValue(ext: Extension): Uint8Array {
  return new Uint8Array(ext.extnValue.buffer, ext.extnValue.byteOffset, ext.extnValue.byteLength);
}

/** The decoded value of `ext`; throws when its bytes are not a `type`. */
export function readExtension<T>(ext: Extension, type: new () => T): T {
  const value = builtFrom.get(ext);
  return value instanceof type ? value : AsnParser.parse(ext.extnValue, type);
}

/**
 * Extensions that are byte-identical across many certificates (same issuer,
 * same URLs, same level) are built and encoded once. The bound only keeps a
 * misuse from growing the cache without end.
 */
const shared = new Map<string, Extension>();
const MAX_SHARED = 1000;

function sharedExtension(key: string, build: () => Extension): Extension {
  let ext = shared.get(key);
  if (!ext) {
    if (shared.size >= MAX_SHARED) shared.clear();
    ext = remember(build());
    shared.set(key, ext);
  }
  return ext;
}

const uri = (url: string): GeneralName => new GeneralName({ uniformResourceIdentifier: url });

/** Per key identifier buffer, so an issuer's handle finds its AKI without hashing the bytes into a cache key. */
const akiByKeyId = new WeakMap<Uint8Array, Extension>();

export function authorityKeyIdentifierExtension(keyId: Uint8Array): Extension {
  let aki = akiByKeyId.get(keyId);
  if (!aki) {
    aki = sharedExtension(`aki:${Buffer.from(keyId).toString('hex')}`, () =>
      extension(EXTENSION.authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
    );
    akiByKeyId.set(keyId, aki);
  }
  return aki;
}

/** The subjectKeyIdentifier's extnValue content: a KeyIdentifier OCTET STRING. */
export function subjectKeyIdentifierValue(keyId: Uint8Array): Buffer {
  return tlv(TAG.octetString, keyId);
}

export function subjectKeyIdentifierExtension(keyId: Uint8Array): Extension {
  return rawExtension(EXTENSION.subjectKeyIdentifier, false, subjectKeyIdentifierValue(keyId));
}

/** Always critical. `flags` is a sum of KeyUsageFlags. */
export function keyUsageExtension(flags: number): Extension {
  return sharedExtension(`ku:${flags}`, () => extension(EXTENSION.keyUsage, true, new KeyUsage(flags)));
}

export function extendedKeyUsageExtension(purposes: string[]): Extension {
  return sharedExtension(`eku:${purposes.join(',')}`, () =>
    extension(EXTENSION.extKeyUsage, false, new ExtendedKeyUsage(purposes)),
  );
}

/** Always critical. */
export function basicConstraintsExtension(cA: boolean, pathLenConstraint?: number): Extension {
  return sharedExtension(`bc:${cA}:${pathLenConstraint}`, () =>
    extension(EXTENSION.basicConstraints, true, new BasicConstraints(pathLenConstraint === undefined ? { cA } : { cA, pathLenConstraint })),
  );
}

export function certificatePoliciesExtension(policyOids: string[]): Extension {
  return sharedExtension(`cp:${policyOids.join(',')}`, () =>
    extension(
      EXTENSION.certificatePolicies,
      false,
      new CertificatePolicies(policyOids.map((policyIdentifier) => new PolicyInformation({ policyIdentifier }))),
    ),
  );
}

export function authorityInfoAccessExtension(caIssuersUrl: string): Extension {
  return sharedExtension(`aia:${caIssuersUrl}`, () =>
    extension(
      EXTENSION.authorityInfoAccess,
      false,
      new AuthorityInfoAccessSyntax([new AccessDescription({ accessMethod: id_ad_caIssuers, accessLocation: uri(caIssuersUrl) })]),
    ),
  );
}

export function crlDistributionPointsExtension(crlUrl: string): Extension {
  return sharedExtension(`crldp:${crlUrl}`, () =>
    extension(
      EXTENSION.cRLDistributionPoints,
      false,
      new CRLDistributionPoints([
        new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [uri(crlUrl)] }) }),
      ]),
    ),
  );
}

/** GeneralName dNSName is [2] IMPLICIT IA5String, iPAddress [7] IMPLICIT OCTET STRING. */
const DNS_NAME_TAG = 0x82;
const IP_ADDRESS_TAG = 0x87;

/** The subjectAltName's extnValue content, GeneralNames; `ipAddresses` must already be canonical IP text. */
export function subjectAltNameValue(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  const names: Buffer[] = [];
  for (const name of dnsNames) names.push(tlv(DNS_NAME_TAG, Buffer.from(name, 'latin1')));
  for (const ip of ipAddresses) names.push(tlv(IP_ADDRESS_TAG, ipToBytes(ip) ?? Buffer.alloc(0)));
  return tlv(TAG.sequence, ...names);
}

/** Critical only when the subject is empty (RFC 5280 4.2.1.6). */
export function subjectAltNameExtension(dnsNames: string[], ipAddresses: string[], critical: boolean): Extension {
  return rawExtension(EXTENSION.subjectAltName, critical, subjectAltNameValue(dnsNames, ipAddresses));
}

export interface AltNames {
  dnsNames: string[];
  /** Canonical text; undefined for an entry that is not a 4- or 16-byte address. */
  ipAddresses: (string | undefined)[];
  /** How many entries are neither DNS names nor IP addresses. */
  others: number;
}

export function readSubjectAltName(ext: Extension): AltNames {
  return readSubjectAltNameValue(extensionValue(ext));
}

/** Reads a subjectAltName value straight from its DER; throws RangeError when it is not a GeneralNames SEQUENCE. */
export function readSubjectAltNameValue(der: Uint8Array): AltNames {
  const outer = readTlv(der, 0);
  if (outer.tag !== TAG.sequence || outer.end !== der.length) throw new RangeError('subjectAltName is not a SEQUENCE');
  const names: AltNames = { dnsNames: [], ipAddresses: [], others: 0 };
  for (const name of children(der, outer)) {
    const content = der.subarray(name.contentStart, name.end);
    if (name.tag === DNS_NAME_TAG) names.dnsNames.push(Buffer.from(content).toString('latin1'));
    else if (name.tag === IP_ADDRESS_TAG) names.ipAddresses.push(ipFromBytes(content));
    else names.others++;
  }
  return names;
}

export function reasonCodeExtension(code: number): Extension {
  return sharedExtension(`reason:${code}`, () => extension(EXTENSION.reasonCode, false, new CRLReason(code)));
}
