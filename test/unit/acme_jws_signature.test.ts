import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { FlattenedSign } from 'jose';
import { checkJwsSignature } from '../../src/api/acme/jws_signature.js';
import { checkProtectedHeader } from '../../src/api/acme/jws_rules.js';
import { problemTypeOf } from '../support/acme_problem.js';

const url = 'https://ca.example/acme/new-order';
const keys = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  EdDSA: generateKeyPairSync('ed25519'),
};
const jwkText = (key: KeyObject) => JSON.stringify(key.export({ format: 'jwk' }));

/** A flattened JWS made by jose, an implementation independent of the one under test. */
async function signed(alg: keyof typeof keys, payload: string): Promise<{ protected: string; payload: string; signature: string }> {
  const jws = await new FlattenedSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg, nonce: 'n1', url }).sign(keys[alg].privateKey);
  return { protected: jws.protected ?? '', payload: jws.payload, signature: jws.signature };
}

describe('ACME JWS signature check', () => {
  for (const alg of Object.keys(keys) as (keyof typeof keys)[]) {
    test(`${alg}: a request signed by the key verifies, also a POST-as-GET and on the second (cached) use`, async () => {
      const jwk = jwkText(keys[alg].publicKey);
      for (const payload of ['{"identifiers":[]}', '', '{"identifiers":[]}']) {
        const jws = await signed(alg, payload);
        assert.equal(problemTypeOf(() => checkJwsSignature(jws, jwk, alg)), 'accepted');
      }
    });
  }

  test('a changed payload, another key or a non-base64url part is malformed; a key that does not suit the algorithm or is no valid key is badPublicKey', async () => {
    const good = await signed('ES256', '{"a":1}');
    const jwk = jwkText(keys.ES256.publicKey);
    assert.equal(problemTypeOf(() => checkJwsSignature(good, jwk, 'ES256')), 'accepted');
    assert.equal(problemTypeOf(() => checkJwsSignature({ ...good, payload: Buffer.from('{"a":2}').toString('base64url') }, jwk, 'ES256')), 'malformed');
    assert.equal(problemTypeOf(() => checkJwsSignature(good, jwkText(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), 'ES256')), 'malformed');
    // The header says ES384 but the key is P-256: the key must suit the algorithm.
    assert.equal(problemTypeOf(() => checkJwsSignature(good, jwk, 'ES384')), 'badPublicKey');
    assert.equal(problemTypeOf(() => checkJwsSignature({ ...good, signature: `${good.signature}!` }, jwk, 'ES256')), 'malformed');
    assert.equal(problemTypeOf(() => checkJwsSignature(good, '{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}', 'ES256')), 'badPublicKey');
  });

  test('RSA keys under 2048 bits are refused for RS256', async () => {
    // jose refuses to sign with a short key, so the signature is made by hand.
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const protectedPart = Buffer.from(JSON.stringify({ alg: 'RS256', nonce: 'n1', url })).toString('base64url');
    const payload = Buffer.from('{}').toString('base64url');
    const signature = sign('sha256', Buffer.from(`${protectedPart}.${payload}`), small.privateKey).toString('base64url');
    assert.equal(problemTypeOf(() => checkJwsSignature({ protected: protectedPart, payload, signature }, jwkText(small.publicKey), 'RS256')), 'badPublicKey');
  });

  test('a protected header with crit is refused', () => {
    assert.equal(problemTypeOf(() => checkProtectedHeader({ alg: 'ES256', nonce: 'n1', url, kid: 'https://ca.example/acme/acct/a1', crit: ['b64'], b64: false }, { url, keys: 'kid' })), 'malformed');
  });
});
