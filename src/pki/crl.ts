import { AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { Extension, RevokedCertificate, TBSCertList, Time, Version } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import type { IssuerHandle } from './certificate.js';
import { TAG, bigintToBytes, tlv, unsignedIntegerContent } from './der.js';
import { EXTENSION, authorityKeyIdentifierExtension, reasonCodeExtension } from './extensions.js';
import { issuerName } from './profile.js';
import { signEnvelope, signatureAlgorithmIdentifier } from './signing.js';

export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'privilegeWithdrawn';

/** RFC 5280 5.3.1 CRLReason codes. */
export const REVOCATION_REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
};

export interface CrlParams {
  issuer: IssuerHandle;
  entries: { serial: Buffer; revokedAt: Date; reason: RevocationReason }[];
  thisUpdate: Date;
  nextUpdate: Date;
  /** Monotonically increasing; at most 20 octets (RFC 5280 5.2.3). */
  crlNumber: bigint;
}

function crlNumberExtension(crlNumber: bigint): Extension {
  const content = crlNumber >= 0n ? unsignedIntegerContent(bigintToBytes(crlNumber)) : undefined;
  if (!content || content.length > 20) {
    throw new CertdeskError('CRL_NUMBER_INVALID', 'A CRL number must be a non-negative integer of at most 20 octets.', { status: 500 });
  }
  return new Extension({ extnID: EXTENSION.cRLNumber, critical: false, extnValue: new OctetString(tlv(TAG.integer, content)) });
}

/**
 * A v2 CRL signed by `issuer`: AKI and cRLNumber extensions; each entry carries
 * a reasonCode unless the reason is unspecified (RFC 5280 5.3.1 says omit it).
 */
export function buildCrl(p: CrlParams): Buffer {
  const revoked = p.entries.map(
    (entry) =>
      new RevokedCertificate({
        userCertificate: new Uint8Array(unsignedIntegerContent(entry.serial)).buffer,
        revocationDate: new Time(entry.revokedAt),
        ...(entry.reason === 'unspecified' ? {} : { crlEntryExtensions: [reasonCodeExtension(REVOCATION_REASON_CODES[entry.reason])] }),
      }),
  );
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: signatureAlgorithmIdentifier(p.issuer.signatureAlgorithm),
    issuer: issuerName(p.issuer.subjectDer),
    thisUpdate: new Time(p.thisUpdate),
    nextUpdate: new Time(p.nextUpdate),
    // An empty CRL omits revokedCertificates instead of encoding an empty SEQUENCE.
    ...(revoked.length > 0 ? { revokedCertificates: revoked } : {}),
    crlExtensions: [authorityKeyIdentifierExtension(p.issuer.subjectKeyId), crlNumberExtension(p.crlNumber)],
  });
  return signEnvelope(Buffer.from(AsnSerializer.serialize(tbs)), p.issuer.privateKey, p.issuer.signatureAlgorithm);
}
