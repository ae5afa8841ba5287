/**
 * A KeyObject from a DER SubjectPublicKeyInfo. OpenSSL 3's DER decoder is the
 * slow way in (about 170 µs a key, twice that under load, against 100 µs for
 * an EC key and 5 µs for an RSA key given as JWK), and every submitted CSR
 * needs its key once to check its signature. So the common keys go in as
 * JWK, but only when the SPKI is byte for byte the canonical encoding of the
 * key the JWK describes; anything else goes through the DER decoder, which
 * stays the judge of what is malformed.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { children, oidDer, readTlv, TAG, tlv } from './der.js';

const EC_PREFIXES: { crv: 'P-256' | 'P-384'; prefix: Buffer; coordinate: number }[] = [
  // SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING { 0 unused, 0x04 (uncompressed) ... } }
  { crv: 'P-256', prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'), coordinate: 32 },
  { crv: 'P-384', prefix: Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex'), coordinate: 48 },
];

const RSA_ALGORITHM = tlv(TAG.sequence, oidDer('1.2.840.113549.1.1.1'), Buffer.from([0x05, 0x00]));

function ecJwk(spki: Buffer): JsonWebKey | null {
  for (const { crv, prefix, coordinate } of EC_PREFIXES) {
    if (spki.length !== prefix.length + 2 * coordinate || !spki.subarray(0, prefix.length).equals(prefix)) continue;
    const point = spki.subarray(prefix.length);
    return { kty: 'EC', crv, x: point.subarray(0, coordinate).toString('base64url'), y: point.subarray(coordinate).toString('base64url') };
  }
  return null;
}

/** The magnitude of a minimally encoded positive INTEGER's content, or null. */
function positiveMagnitude(content: Buffer): Buffer | null {
  if (content.length === 0 || (content[0] as number) & 0x80) return null;
  if (content[0] === 0) return content.length > 1 && (content[1] as number) & 0x80 ? content.subarray(1) : null;
  return content;
}

function rsaJwk(spki: Buffer): JsonWebKey | null {
  try {
    const outer = readTlv(spki, 0);
    const [algorithm, bits] = children(spki, outer);
    if (!algorithm || !bits || bits.tag !== TAG.bitString || spki[bits.contentStart] !== 0) return null;
    if (!spki.subarray(algorithm.start, algorithm.end).equals(RSA_ALGORITHM)) return null;
    const keyDer = spki.subarray(bits.contentStart + 1, bits.end);
    const [modulus, exponent] = children(keyDer, readTlv(keyDer, 0));
    if (!modulus || !exponent || modulus.tag !== TAG.integer || exponent.tag !== TAG.integer) return null;
    const nContent = keyDer.subarray(modulus.contentStart, modulus.end);
    const eContent = keyDer.subarray(exponent.contentStart, exponent.end);
    const n = positiveMagnitude(nContent);
    const e = positiveMagnitude(eContent);
    if (!n || !e) return null;
    const canonical = tlv(TAG.sequence, RSA_ALGORITHM, tlv(TAG.bitString, Buffer.from([0]), tlv(TAG.sequence, tlv(TAG.integer, nContent), tlv(TAG.integer, eContent))));
    if (!canonical.equals(spki)) return null;
    return { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') };
  } catch {
    return null;
  }
}

/** What to hand createPublicKey for the key in `spkiDer`: plain data, so it can also be posted to another thread. */
export type SpkiKeyInput = { key: JsonWebKey; format: 'jwk' } | { key: Buffer; format: 'der'; type: 'spki' };

export function spkiKeyInput(spkiDer: Uint8Array): SpkiKeyInput {
  const spki = Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength);
  const jwk = ecJwk(spki) ?? rsaJwk(spki);
  return jwk ? { key: jwk, format: 'jwk' } : { key: spki, format: 'der', type: 'spki' };
}

/** The public key in `spkiDer`; throws as createPublicKey does when it cannot be read. */
export function publicKeyFromSpki(spkiDer: Uint8Array): KeyObject {
  return createPublicKey(spkiKeyInput(spkiDer));
}
