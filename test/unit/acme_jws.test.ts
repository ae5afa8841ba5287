import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkProtectedHeader } from '../../src/api/acme/jws_rules.js';
import { CertdeskError } from '../../src/errors.js';
import { acmeError } from '../../src/ra/acme/errors.js';
import { toProblem } from '../../src/api/acme/problems.js';
import { problemTypeOf } from '../support/acme_problem.js';

const url = 'https://ca.example/acme/new-order';
const base = { alg: 'ES256', nonce: 'n1', url, kid: 'https://ca.example/acme/acct/a1' };

describe('ACME JWS protected header rules', () => {
  test('a well-formed kid header is accepted', () => {
    assert.equal(checkProtectedHeader(base, { url, keys: 'kid' }).kid, base.kid);
  });
  test('only ES256, ES384, RS256 and EdDSA are accepted', () => {
    for (const alg of ['ES256', 'ES384', 'RS256', 'EdDSA']) assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, alg }, { url, keys: 'kid' })), 'accepted');
    for (const alg of ['HS256', 'none', 'RS512', 'PS256', undefined]) assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, alg }, { url, keys: 'kid' })), 'badSignatureAlgorithm');
  });
  test('a missing nonce is badNonce; the inner key-change JWS must have none', () => {
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, nonce: undefined }, { url, keys: 'kid' })), 'badNonce');
    const inner = { alg: 'ES256', url, jwk: { kty: 'EC' } };
    assert.equal(problemTypeOf(() => checkProtectedHeader(inner, { url, keys: 'jwk', inner: true })), 'accepted');
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...inner, nonce: 'x' }, { url, keys: 'jwk', inner: true })), 'malformed');
  });
  test('the url must be the request URL exactly', () => {
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, url: `${url}/` }, { url, keys: 'kid' })), 'unauthorized');
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, url: 'http://ca.example/acme/new-order' }, { url, keys: 'kid' })), 'unauthorized');
  });
  test('exactly one of kid and jwk; jwk only where §6.2 allows it', () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' };
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, jwk }, { url, keys: 'either' })), 'malformed');
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, kid: undefined }, { url, keys: 'either' })), 'malformed');
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, kid: undefined, jwk }, { url, keys: 'kid' })), 'malformed');
    assert.equal(problemTypeOf(() => checkProtectedHeader(base, { url, keys: 'jwk' })), 'malformed');
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, kid: undefined, jwk }, { url, keys: 'jwk' })), 'accepted');
    assert.equal(problemTypeOf(() => checkProtectedHeader({ ...base, kid: undefined, jwk: { ...jwk, d: 'secret' } }, { url, keys: 'either' })), 'malformed');
  });
});

describe('ACME problem documents', () => {
  test('RA errors carry their ACME type, status and Retry-After', () => {
    const p = toProblem(acmeError('rateLimited', 'slow down please', { details: { retryAfterSeconds: 42 } }));
    assert.deepEqual(p.body, { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down please', status: 429 });
    assert.equal(p.status, 429);
    assert.equal(p.retryAfterSeconds, 42);
    assert.equal(toProblem(acmeError('orderNotReady', 'not yet')).status, 403);
  });
  test('badSignatureAlgorithm lists the supported algorithms', () => {
    assert.deepEqual(toProblem(acmeError('badSignatureAlgorithm', 'no HS256')).body.algorithms, ['ES256', 'ES384', 'RS256', 'EdDSA']);
  });
  test('plain RA errors map to the nearest ACME type', () => {
    assert.equal(toProblem(new CertdeskError('CSR_NAMES_MISMATCH', 'names differ')).body.type, 'urn:ietf:params:acme:error:badCSR');
    assert.equal(toProblem(new CertdeskError('ALREADY_REVOKED', 'done', { status: 409 })).body.type, 'urn:ietf:params:acme:error:alreadyRevoked');
    assert.equal(toProblem(new CertdeskError('FORBIDDEN', 'no', { status: 403 })).body.type, 'urn:ietf:params:acme:error:unauthorized');
    const internal = toProblem(new Error('boom'));
    assert.equal(internal.status, 500);
    assert.equal(internal.body.type, 'urn:ietf:params:acme:error:serverInternal');
    assert.doesNotMatch(internal.body.detail, /boom/, 'internal details stay in the log');
  });
});
