/**
 * The signature check of an ACME JWS (RFC 7515 §5.2, RFC 7518 §3) with
 * node:crypto. Every request of an account is signed by the same key, so the
 * imported public key is kept by its JWK text: importing is the costly part,
 * and a JWK's text names exactly one key, so a cached entry is never stale.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { acmeError } from '../../ra/acme/errors.js';

const MAX_KEYS = 10_000;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** What each algorithm needs from the key (also said in the badPublicKey detail) and how its signature is checked. */
const ALGORITHMS: Record<string, { accepts(key: KeyObject): boolean; needs: string; hash: string | null; ecdsaLength?: number }> = {
  ES256: { accepts: (k) => k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1', needs: 'a P-256 EC key', hash: 'sha256', ecdsaLength: 64 },
  ES384: { accepts: (k) => k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'secp384r1', needs: 'a P-384 EC key', hash: 'sha384', ecdsaLength: 96 },
  // RFC 7518 §3.3: RSA keys of at least 2048 bits.
  RS256: { accepts: (k) => k.asymmetricKeyType === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048, needs: 'an RSA key of at least 2048 bits', hash: 'sha256' },
  EdDSA: { accepts: (k) => k.asymmetricKeyType === 'ed25519' || k.asymmetricKeyType === 'ed448', needs: 'an Ed25519 or Ed448 key', hash: null },
};

const KEY_ADVICE = 'use a P-256 or P-384 EC key, an RSA key of at least 2048 bits or an Ed25519 key, with its algorithm (ES256, ES384, RS256, EdDSA)';

const keys = new Map<string, KeyObject>();

/** The public key of a JWK given as JSON text, imported once; throws when it is not a public key. */
function publicKeyOf(jwkText: string): KeyObject {
  const known = keys.get(jwkText);
  if (known) return known;
  const key = createPublicKey({ key: JSON.parse(jwkText) as never, format: 'jwk' });
  if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string);
  keys.set(jwkText, key);
  return key;
}

/** The key of the JWK (JSON text), when `alg` can use it; else badPublicKey (RFC 8555 §6.7) saying which keys fit. */
function usableKey(jwkText: string, alg: string): KeyObject {
  let key: KeyObject;
  try {
    key = publicKeyOf(jwkText);
  } catch {
    throw acmeError('badPublicKey', `The JWS key is not a valid public key (for an EC key, the point must lie on its curve); ${KEY_ADVICE}.`);
  }
  const rule = ALGORITHMS[alg];
  if (rule && !rule.accepts(key)) throw acmeError('badPublicKey', `The JWS key does not suit ${alg}, which needs ${rule.needs}; ${KEY_ADVICE}.`);
  return key;
}

/** Whether `signature` over `protected.payload` verifies with `key` under `alg`; a part that is not base64url counts as not verifying. */
function signatureValid(parts: { protected: string; payload: string; signature: string }, key: KeyObject, alg: string): boolean {
  const rule = ALGORITHMS[alg];
  if (!rule || !BASE64URL.test(parts.protected) || !BASE64URL.test(parts.payload) || !BASE64URL.test(parts.signature)) return false;
  const signature = Buffer.from(parts.signature, 'base64url');
  if (rule.ecdsaLength !== undefined && signature.length !== rule.ecdsaLength) return false;
  const input = Buffer.from(`${parts.protected}.${parts.payload}`, 'ascii');
  try {
    return verify(rule.hash, input, rule.ecdsaLength === undefined ? key : { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** Throws badPublicKey when the JWK (JSON text) cannot sign under `alg`, and `malformed` unless the JWS signature verifies with it. */
export function checkJwsSignature(parts: { protected: string; payload: string; signature: string }, jwkText: string, alg: string): void {
  if (!signatureValid(parts, usableKey(jwkText, alg), alg)) throw acmeError('malformed', `The JWS signature does not verify with the ${alg} key; sign the request with the account key.`);
}
