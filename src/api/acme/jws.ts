/** Verifies the flattened JWS of an ACME POST: header rules, single-use nonce, key lookup, signature. */
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, flattenedVerify, importJWK, type JWK } from 'jose';
import { loadActiveAccount } from '../../ra/acme/accounts.js';
import { acmeError } from '../../ra/acme/errors.js';
import type { RaContext } from '../../ra/context.js';
import type { AcmeAccountTable } from '../../store/schema.js';
import { checkProtectedHeader, SUPPORTED_ALGORITHMS, type KeyRule, type ProtectedHeader } from './jws_rules.js';
import type { NonceStore } from './nonces.js';

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export interface VerifiedRequest {
  header: ProtectedHeader;
  /** The parsed JSON payload; null for POST-as-GET (empty payload). */
  payload: Record<string, unknown> | null;
  /** Set when signed with an embedded jwk. */
  jwk: JWK | null;
  thumbprint: string | null;
  /** Set when signed with an account's kid. */
  account: AcmeAccountTable | null;
}

export function asFlattenedJws(body: unknown): FlattenedJws {
  const b = body as Partial<FlattenedJws> | null;
  if (typeof b !== 'object' || b === null || typeof b.protected !== 'string' || typeof b.payload !== 'string' || typeof b.signature !== 'string') {
    throw acmeError('malformed', 'The request body must be a flattened JWS: {"protected", "payload", "signature"}.');
  }
  return { protected: b.protected, payload: b.payload, signature: b.signature };
}

export function decodeJson(part: string, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw acmeError('malformed', `The JWS ${what} is not base64url-encoded JSON.`);
  }
}

/** Checks a JWS signature with a public JWK; a mismatching key type or a bad signature is `malformed`. */
export async function verifySignature(jws: FlattenedJws, jwk: JWK, alg: string): Promise<Uint8Array> {
  try {
    const key = await importJWK(jwk, alg);
    const { payload } = await flattenedVerify(jws, key, { algorithms: [...SUPPORTED_ALGORITHMS] });
    return payload;
  } catch {
    throw acmeError('malformed', `The JWS signature does not verify with the ${alg} key; sign the request with the account key.`);
  }
}

export function spkiOf(jwk: JWK): Buffer {
  try {
    return createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  } catch {
    throw acmeError('badPublicKey', 'The jwk is not a usable public key.');
  }
}

export async function thumbprintOf(jwk: JWK): Promise<string> {
  try {
    return await calculateJwkThumbprint(jwk, 'sha256');
  } catch {
    throw acmeError('malformed', 'The jwk is not a public JSON Web Key.');
  }
}

export async function verifyRequest(ctx: RaContext, nonces: NonceStore, body: unknown, expect: { url: string; keys: KeyRule; accountUrlPrefix: string }): Promise<VerifiedRequest> {
  const jws = asFlattenedJws(body);
  const header = checkProtectedHeader(decodeJson(jws.protected, 'protected header'), expect);
  if (!nonces.consume(header.nonce)) throw acmeError('badNonce', 'The nonce was already used, has expired, or was not issued by this server; get a fresh one from newNonce.');
  let jwk: JWK;
  let account: AcmeAccountTable | null = null;
  if (header.kid !== undefined) {
    if (!header.kid.startsWith(expect.accountUrlPrefix)) throw acmeError('accountDoesNotExist', `kid ${header.kid} is not an account URL of this server.`);
    account = await loadActiveAccount(ctx, header.kid.slice(expect.accountUrlPrefix.length));
    jwk = JSON.parse(account.jwk) as JWK;
  } else {
    jwk = header.jwk as JWK;
  }
  const payloadBytes = await verifySignature(jws, jwk, header.alg);
  const payload = payloadBytes.length === 0 ? null : decodeJson(jws.payload, 'payload');
  if (payload !== null && (typeof payload !== 'object' || Array.isArray(payload))) throw acmeError('malformed', 'The JWS payload must be a JSON object.');
  return { header, payload: payload as Record<string, unknown> | null, jwk: account ? null : jwk, thumbprint: account ? null : await thumbprintOf(jwk), account };
}

/** The inner JWS of keyChange (§7.3.5): signed by the new key, no nonce, same url; returns the new key and the inner payload. */
export async function verifyKeyChange(outerPayload: unknown, keyChangeUrl: string): Promise<{ newJwk: JWK; change: Record<string, unknown> }> {
  const inner = asFlattenedJws(outerPayload);
  const header = checkProtectedHeader(decodeJson(inner.protected, 'inner protected header'), { url: keyChangeUrl, keys: 'jwk', inner: true });
  const newJwk = header.jwk as JWK;
  const change = decodeJson(Buffer.from(await verifySignature(inner, newJwk, header.alg)).toString('base64url'), 'inner payload');
  if (typeof change !== 'object' || change === null) throw acmeError('malformed', 'The keyChange inner payload must be {"account", "oldKey"}.');
  return { newJwk, change: change as Record<string, unknown> };
}
