import { createPrivateKey, type KeyObject } from 'node:crypto';
import { Extension, Extensions, KeyUsageFlags, TBSCertificate, Validity, Version, id_kp_serverAuth } from '@peculiar/asn1-x509';
import { unsignedIntegerContent } from './der.js';
import {
  authorityInfoAccessExtension,
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  certificatePoliciesExtension,
  crlDistributionPointsExtension,
  extendedKeyUsageExtension,
  keyUsageExtension,
  subjectKeyIdentifierExtension,
} from './extensions.js';
import { signCertificate, signTbsCertificate, type IssuerHandle } from './certificate.js';
import { generateKeyPair, type KeyAlgorithm } from './keys.js';
import { ATTRIBUTE, buildName } from './names.js';
import { toPem } from './pem.js';
import { POLICY_OIDS, issuerName, keyIdentifier, parseSpki, readSpki } from './profile.js';
import { signatureAlgorithmForKey, signatureAlgorithmIdentifier, type SignatureAlgorithm } from './signing.js';

export interface CaParams {
  commonName: string;
  organization: string;
  /** Two-letter country code; BR 7.1.2.10.2 recommends it for CA subjects. */
  country?: string;
  keyAlgorithm: KeyAlgorithm;
  notBefore: Date;
  notAfter: Date;
  serial: Buffer;
}

export interface IntermediateCaParams extends CaParams {
  issuer: IssuerHandle;
  aiaIssuerUrl: string;
  crlUrl: string;
}

interface NewCa {
  privateKey: KeyObject;
  privateKeyPem: string;
  spkiDer: Buffer;
  subjectKeyId: Buffer;
}

function newCaKey(keyAlgorithm: KeyAlgorithm): NewCa {
  const { privateKeyPem, publicKey } = generateKeyPair(keyAlgorithm);
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey: createPrivateKey(privateKeyPem), privateKeyPem, spkiDer, subjectKeyId: keyIdentifier(readSpki(spkiDer).publicKey) };
}

function caSubject(p: CaParams) {
  return buildName([
    ...(p.country ? ([[ATTRIBUTE.countryName, p.country]] as [string, string][]) : []),
    [ATTRIBUTE.organizationName, p.organization],
    [ATTRIBUTE.commonName, p.commonName],
  ]);
}

function caTbs(p: CaParams, key: NewCa, issuer: { name: TBSCertificate['issuer']; algorithm: SignatureAlgorithm }, extensions: Extension[]): TBSCertificate {
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(unsignedIntegerContent(p.serial)).buffer,
    signature: signatureAlgorithmIdentifier(issuer.algorithm),
    issuer: issuer.name,
    validity: new Validity({ notBefore: p.notBefore, notAfter: p.notAfter }),
    subject: caSubject(p),
    subjectPublicKeyInfo: parseSpki(key.spkiDer),
    extensions: new Extensions(extensions),
  });
}

const CA_KEY_USAGE = KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;

/** A self-signed root (BR 7.1.2.1): cA=true without a path length, certSign+cRLSign, SKI. */
export function createRootCa(p: CaParams): { certPem: string; privateKeyPem: string } {
  const key = newCaKey(p.keyAlgorithm);
  const algorithm = signatureAlgorithmForKey(key.privateKey);
  const subject = caSubject(p);
  const tbs = caTbs(p, key, { name: subject, algorithm }, [
    basicConstraintsExtension(true),
    keyUsageExtension(CA_KEY_USAGE),
    subjectKeyIdentifierExtension(key.subjectKeyId),
  ]);
  return { certPem: toPem(signTbsCertificate(tbs, key.privateKey, algorithm), 'CERTIFICATE'), privateKeyPem: key.privateKeyPem };
}

/**
 * A TLS issuing CA (BR 7.1.2.2): pathLen 0, serverAuth EKU, the three CA/B
 * Forum policy OIDs it issues under, AKI, AIA and CRL DP pointing at the root.
 * digitalSignature lets it sign OCSP responses itself.
 */
export function createIntermediateCa(p: IntermediateCaParams): { certPem: string; privateKeyPem: string } {
  const key = newCaKey(p.keyAlgorithm);
  const tbs = caTbs(p, key, { name: issuerName(p.issuer.subjectDer), algorithm: p.issuer.signatureAlgorithm }, [
    basicConstraintsExtension(true, 0),
    keyUsageExtension(CA_KEY_USAGE | KeyUsageFlags.digitalSignature),
    extendedKeyUsageExtension([id_kp_serverAuth]),
    certificatePoliciesExtension([POLICY_OIDS.dv, POLICY_OIDS.ov, POLICY_OIDS.ev]),
    authorityKeyIdentifierExtension(p.issuer.subjectKeyId),
    subjectKeyIdentifierExtension(key.subjectKeyId),
    authorityInfoAccessExtension(p.aiaIssuerUrl),
    crlDistributionPointsExtension(p.crlUrl),
  ]);
  return { certPem: toPem(signCertificate(tbs, p.issuer), 'CERTIFICATE'), privateKeyPem: key.privateKeyPem };
}
