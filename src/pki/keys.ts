import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import { children, oidText, readTlv, TAG } from './der.js';

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

export function generateKeyPair(alg: KeyAlgorithm): { privateKeyPem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } =
    alg === 'ecdsa-p256' || alg === 'ecdsa-p384'
      ? generateKeyPairSync('ec', { namedCurve: alg === 'ecdsa-p256' ? 'P-256' : 'P-384' })
      : generateKeyPairSync('rsa', { modulusLength: Number(alg.slice('rsa-'.length)), publicExponent: 65537 });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey };
}

/** What a subject public key is, read from its SubjectPublicKeyInfo structure. */
export interface KeyFacts {
  type: 'rsa' | 'ec' | 'other';
  bits: number;
  /** Set only for the curves certdesk accepts. */
  curve?: 'P-256' | 'P-384';
  /** RSA public exponent. */
  exponent?: bigint;
  label: string;
}

export const RSA_KEY_OID = '1.2.840.113549.1.1.1';
const EC_OID = '1.2.840.10045.2.1';
/** namedCurve parameters (DER of the curve OID) of the curves we can name. */
const CURVES: { parameters: Buffer; name: string; bits: number; accepted?: 'P-256' | 'P-384' }[] = [
  { parameters: Buffer.from('06082a8648ce3d030107', 'hex'), name: 'P-256', bits: 256, accepted: 'P-256' },
  { parameters: Buffer.from('06052b81040022', 'hex'), name: 'P-384', bits: 384, accepted: 'P-384' },
  { parameters: Buffer.from('06052b81040023', 'hex'), name: 'P-521', bits: 521 },
  { parameters: Buffer.from('06052b8104000a', 'hex'), name: 'secp256k1', bits: 256 },
];
const OTHER_KEY_TYPES: Record<string, string> = {
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.113549.1.1.10': 'RSA-PSS',
  '1.2.840.10040.4.1': 'DSA',
};

function bitLength(unsignedContent: Uint8Array): number {
  let start = 0;
  while (start < unsignedContent.length && unsignedContent[start] === 0) start++;
  if (start === unsignedContent.length) return 0;
  return (unsignedContent.length - start - 1) * 8 + (unsignedContent[start] as number).toString(2).length;
}

function rsaFacts(publicKey: Uint8Array): KeyFacts {
  const [modulus, exponent] = children(publicKey, readTlv(publicKey, 0));
  if (!modulus || !exponent) throw new RangeError('RSA public key is not SEQUENCE { n, e }');
  const bits = bitLength(publicKey.subarray(modulus.contentStart, modulus.end));
  const e = BigInt(`0x${Buffer.from(publicKey.subarray(exponent.contentStart, exponent.end)).toString('hex') || '0'}`);
  return { type: 'rsa', bits, exponent: e, label: `RSA ${bits}` };
}

export function spkiFacts(spki: SubjectPublicKeyInfo): KeyFacts {
  return keyFacts(spki.algorithm, new Uint8Array(spki.subjectPublicKey));
}

/** The facts of a key given its AlgorithmIdentifier and the bits of its subjectPublicKey; throws RangeError for a malformed RSA key. */
export function keyFacts({ algorithm, parameters }: { algorithm: string; parameters?: ArrayBuffer | Uint8Array | null }, publicKey: Uint8Array): KeyFacts {
  if (algorithm === RSA_KEY_OID) return rsaFacts(publicKey);
  if (algorithm === EC_OID) {
    const bytes = parameters ? (parameters instanceof Uint8Array ? parameters : new Uint8Array(parameters)) : undefined;
    const curve = bytes && CURVES.find((known) => known.parameters.equals(bytes));
    if (!curve) return { type: 'ec', bits: 0, label: 'ECDSA on an unsupported curve' };
    const facts: KeyFacts = { type: 'ec', bits: curve.bits, label: `ECDSA ${curve.name}` };
    if (curve.accepted) facts.curve = curve.accepted;
    return facts;
  }
  return { type: 'other', bits: 0, label: OTHER_KEY_TYPES[algorithm] ?? `key type ${algorithm}` };
}

/** The facts of a SubjectPublicKeyInfo read straight from its DER; throws RangeError when the bytes are not one. */
export function spkiDerFacts(spkiDer: Uint8Array): KeyFacts {
  const outer = readTlv(spkiDer, 0);
  const [algorithmId, bits] = children(spkiDer, outer);
  if (outer.tag !== TAG.sequence || !algorithmId || algorithmId.tag !== TAG.sequence || !bits || bits.tag !== TAG.bitString) throw new RangeError('not a SubjectPublicKeyInfo');
  const [oid, parameters] = children(spkiDer, algorithmId);
  if (!oid || oid.tag !== 0x06) throw new RangeError('AlgorithmIdentifier without an OID');
  const algorithm = oidText(spkiDer.subarray(oid.contentStart, oid.end));
  return keyFacts({ algorithm, parameters: parameters ? spkiDer.subarray(parameters.start, parameters.end) : null }, spkiDer.subarray(bits.contentStart + 1, bits.end));
}

function keyObjectFacts(key: KeyObject): KeyFacts {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return spkiDerFacts(publicKey.export({ type: 'spki', format: 'der' }));
}

const ACCEPTED_KEYS =
  'Accepted keys: RSA 2048 to 8192 bits (a multiple of 8, odd public exponent of at least 65537) or ECDSA P-256 or P-384.';

/** Why a key breaks the CA/B Forum key rules, or undefined when it meets them. */
export function keyPolicyProblem(facts: KeyFacts): { code: 'CSR_WEAK_KEY' | 'CSR_KEY_UNSUPPORTED'; problem: string } | undefined {
  if (facts.type === 'other') return { code: 'CSR_KEY_UNSUPPORTED', problem: `${facts.label} keys are not supported` };
  if (facts.type === 'ec') return facts.curve ? undefined : { code: 'CSR_WEAK_KEY', problem: `${facts.label} is not accepted` };
  if (facts.bits < 2048 || facts.bits > 8192 || facts.bits % 8 !== 0) {
    return { code: 'CSR_WEAK_KEY', problem: `an RSA key of ${facts.bits} bits is not accepted` };
  }
  const e = facts.exponent ?? 0n;
  if (e % 2n === 0n || e < 65537n || e >= 1n << 256n) {
    return { code: 'CSR_WEAK_KEY', problem: `an RSA public exponent of ${e} is not accepted` };
  }
  return undefined;
}

export function describePublicKey(key: KeyObject): { type: 'ec' | 'rsa'; bits: number; curve?: 'P-256' | 'P-384'; label: string } {
  const facts = keyObjectFacts(key);
  if (facts.type === 'other') {
    throw new CertdeskError('CSR_KEY_UNSUPPORTED', `${facts.label} keys are not supported. ${ACCEPTED_KEYS}`, { status: 400 });
  }
  const description: { type: 'ec' | 'rsa'; bits: number; curve?: 'P-256' | 'P-384'; label: string } = {
    type: facts.type,
    bits: facts.bits,
    label: facts.label,
  };
  if (facts.curve) description.curve = facts.curve;
  return description;
}

/** Throws CSR_WEAK_KEY / CSR_KEY_UNSUPPORTED (field csr.pem) for keys the CA/B Forum rules refuse. */
export function checkKeyPolicy(key: KeyObject): void {
  checkKeyFactsPolicy(keyObjectFacts(key));
}

/** checkKeyPolicy for a key given as SubjectPublicKeyInfo DER that node already accepted as a key. */
export function checkSpkiPolicy(spkiDer: Uint8Array): void {
  checkKeyFactsPolicy(spkiDerFacts(spkiDer));
}

function checkKeyFactsPolicy(facts: KeyFacts): void {
  const finding = keyPolicyProblem(facts);
  if (finding) {
    const problem = finding.problem.charAt(0).toUpperCase() + finding.problem.slice(1);
    throw new CertdeskError(finding.code, `${problem}. ${ACCEPTED_KEYS}`, { status: 400, field: 'csr.pem' });
  }
}
