/** Verifies the flattened JWS of an ACME POST: header rules, single-use nonce, key lookup, signature. */
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { loadActiveAccount } from '../../ra/acme/accounts.js';
import { acmeError } from '../../ra/acme/errors.js';
import type { RaContext } from '../../ra/context.js';
import type { AcmeAccountTable } from '../../store/schema.js';
import { checkProtectedHeader, type KeyRule, type ProtectedHeader } from './jws_rules.js';
import { checkJwsSignature } from './jws_signature.js';
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
  let account: AcmeAccountTable | null = null;
  if (header.kid !== undefined) {
    if (!header.kid.startsWith(expect.accountUrlPrefix)) throw acmeError('accountDoesNotExist', `kid ${header.kid} is not an account URL of this server.`);
    account = await loadActiveAccount(ctx, header.kid.slice(expect.accountUrlPrefix.length));
  }
  checkJwsSignature(jws, account ? account.jwk : JSON.stringify(header.jwk), header.alg);
  // An empty payload is a POST-as-GET (§6.3).
  const payload = jws.payload === '' ? null : decodeJson(jws.payload, 'payload');
  // JSON null is not the empty payload of a POST-as-GET.
  if (jws.payload !== '' && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) {
    throw acmeError('malformed', 'The JWS payload must be a JSON object, or empty for a POST-as-GET.');
  }
  const jwk = account ? null : (header.jwk as JWK);
  return { header, payload: payload as Record<string, unknown> | null, jwk, thumbprint: jwk ? await thumbprintOf(jwk) : null, account };
}

/** The inner JWS of keyChange (§7.3.5): signed by the new key, no nonce, same url; returns the new key and the inner payload. */
export async function verifyKeyChange(outerPayload: unknown, keyChangeUrl: string): Promise<{ newJwk: JWK; change: Record<string, unknown> }> {
  const inner = asFlattenedJws(outerPayload);
  const header = checkProtectedHeader(decodeJson(inner.protected, 'inner protected header'), { url: keyChangeUrl, keys: 'jwk', inner: true });
  const newJwk = header.jwk as JWK;
  checkJwsSignature(inner, JSON.stringify(newJwk), header.alg);
  const change = decodeJson(inner.payload, 'inner payload');
  if (typeof change !== 'object' || change === null) throw acmeError('malformed', 'The keyChange inner payload must be {"account", "oldKey"}.');
  return { newJwk, change: change as Record<string, unknown> };
}
