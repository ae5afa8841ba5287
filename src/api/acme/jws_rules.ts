/** The pure rules of an ACME request's JWS protected header (RFC 8555 §6.2, §6.4, §6.5). */
import { acmeError } from '../../ra/acme/errors.js';

export const SUPPORTED_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;

/** Which key reference a resource takes: newAccount a jwk, revokeCert either, everything else the account kid. */
export type KeyRule = 'jwk' | 'either' | 'kid';

export interface ProtectedHeader {
  alg: string;
  /** Absent only on the inner JWS of a key change. */
  nonce: string;
  url: string;
  kid?: string;
  jwk?: Record<string, unknown>;
}

/** Checks the header's shape, algorithm, nonce presence, url and key reference. The nonce's validity is checked against the store by the caller. */
export function checkProtectedHeader(raw: unknown, expect: { url: string; keys: KeyRule; inner?: boolean }): ProtectedHeader {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw acmeError('malformed', 'The JWS protected header must be a JSON object.');
  const h = raw as Record<string, unknown>;
  if (typeof h.alg !== 'string' || !(SUPPORTED_ALGORITHMS as readonly string[]).includes(h.alg)) {
    throw acmeError('badSignatureAlgorithm', `The JWS algorithm ${JSON.stringify(h.alg)} is not supported; use one of ${SUPPORTED_ALGORITHMS.join(', ')}.`);
  }
  // The inner JWS of a key change carries no nonce (§7.3.5); every outer JWS must.
  if (expect.inner) {
    if (h.nonce !== undefined) throw acmeError('malformed', 'The inner JWS of keyChange must not carry a nonce.');
  } else if (typeof h.nonce !== 'string' || h.nonce === '') {
    throw acmeError('badNonce', 'The JWS protected header needs a nonce from newNonce.');
  }
  // RFC 7515 §4.1.11: extensions marked critical must be understood; certdesk understands none.
  if (h.crit !== undefined) throw acmeError('malformed', 'The JWS protected header must not carry crit: this server supports no critical JWS extensions.');
  if (typeof h.url !== 'string') throw acmeError('malformed', 'The JWS protected header needs the url of the request.');
  if (h.url !== expect.url) throw acmeError('unauthorized', `The JWS url ${JSON.stringify(h.url)} is not the URL this request was sent to (${expect.url}).`);
  const hasKid = h.kid !== undefined;
  const hasJwk = h.jwk !== undefined;
  if (hasKid === hasJwk) throw acmeError('malformed', 'The JWS protected header must have exactly one of kid and jwk.');
  if (hasJwk && expect.keys === 'kid') throw acmeError('malformed', 'This request must be signed by an account key named with kid, not an embedded jwk.');
  if (hasKid && expect.keys === 'jwk') throw acmeError('malformed', `${expect.inner ? "keyChange's inner JWS" : 'newAccount'} must be signed with the new key embedded as jwk, not a kid.`);
  if (hasKid && typeof h.kid !== 'string') throw acmeError('malformed', 'kid must be the account URL.');
  if (hasJwk && (typeof h.jwk !== 'object' || h.jwk === null || 'd' in (h.jwk as object))) throw acmeError('malformed', 'jwk must be a public JSON Web Key.');
  return h as unknown as ProtectedHeader;
}
