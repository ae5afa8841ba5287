import { sign, type KeyObject } from 'node:crypto';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import { TAG, derNode, encodeDer } from './der.js';
import { remember, toDer } from './encoded.js';

/** The algorithms certdesk signs certificates, CRLs and CSRs with. */
export type SignatureAlgorithm = 'ecdsa-sha256' | 'ecdsa-sha384' | 'rsa-sha256';

export interface SignatureAlgorithmInfo {
  /** OpenSSL's name, shown to users. */
  name: string;
  /** Digest for node's crypto.sign/verify; null for Ed25519/Ed448; undefined when certdesk cannot verify it. */
  hash: string | null | undefined;
  /** SHA-1 and MD5 signatures are forgeable and refused everywhere. */
  weak: boolean;
}

const KNOWN_SIGNATURE_OIDS: Record<string, SignatureAlgorithmInfo> = {
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5', weak: true },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1', weak: true },
  '1.2.840.113549.1.1.10': { name: 'rsassaPss', hash: undefined, weak: false },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256', weak: false },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384', weak: false },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512', weak: false },
  '1.2.840.10040.4.3': { name: 'dsa_with_SHA1', hash: 'sha1', weak: true },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1', weak: true },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256', weak: false },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384', weak: false },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512', weak: false },
  '1.3.101.112': { name: 'ED25519', hash: null, weak: false },
  '1.3.101.113': { name: 'ED448', hash: null, weak: false },
};

const SIGNATURE_ALGORITHMS: Record<SignatureAlgorithm, { oid: string; hash: string; rsa: boolean }> = {
  'ecdsa-sha256': { oid: '1.2.840.10045.4.3.2', hash: 'sha256', rsa: false },
  'ecdsa-sha384': { oid: '1.2.840.10045.4.3.3', hash: 'sha384', rsa: false },
  'rsa-sha256': { oid: '1.2.840.113549.1.1.11', hash: 'sha256', rsa: true },
};

/** What a signature algorithm OID is; unknown OIDs are named by their dotted form and cannot be verified. */
export function describeSignatureOid(oid: string): SignatureAlgorithmInfo {
  return KNOWN_SIGNATURE_OIDS[oid] ?? { name: oid, hash: undefined, weak: false };
}

export function signatureAlgorithmOid(algorithm: SignatureAlgorithm): string {
  return SIGNATURE_ALGORITHMS[algorithm].oid;
}

const identifiers = new Map<SignatureAlgorithm, AlgorithmIdentifier>();

/** The shared, frozen AlgorithmIdentifier (RSA carries NULL parameters, ECDSA none, per RFC 5758). */
export function signatureAlgorithmIdentifier(algorithm: SignatureAlgorithm): AlgorithmIdentifier {
  let identifier = identifiers.get(algorithm);
  if (!identifier) {
    const { oid, rsa } = SIGNATURE_ALGORITHMS[algorithm];
    identifier = remember(new AlgorithmIdentifier(rsa ? { algorithm: oid, parameters: null } : { algorithm: oid }));
    identifiers.set(algorithm, identifier);
  }
  return identifier;
}

/** ECDSA P-384 signs with SHA-384, every other supported signing key with SHA-256. */
export function signatureAlgorithmForKey(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-sha256';
    if (curve === 'secp384r1') return 'ecdsa-sha384';
  }
  throw new CertdeskError(
    'KEY_UNSUPPORTED',
    'A signing key must be RSA or ECDSA on P-256 or P-384.',
    { status: 400 },
  );
}

const NO_UNUSED_BITS = Buffer.from([0]);

/**
 * Signs `tbsDer` and wraps it as SEQUENCE { tbs, signatureAlgorithm, BIT STRING },
 * the envelope shared by certificates, CRLs and certification requests.
 */
export function signEnvelope(tbsDer: Buffer, key: KeyObject, algorithm: SignatureAlgorithm): Buffer {
  const signature = sign(SIGNATURE_ALGORITHMS[algorithm].hash, tbsDer, key);
  return encodeDer(derNode(TAG.sequence, tbsDer, toDer(signatureAlgorithmIdentifier(algorithm)), derNode(TAG.bitString, NO_UNUSED_BITS, signature)));
}
