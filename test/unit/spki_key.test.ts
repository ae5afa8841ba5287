/**
 * publicKeyFromSpki reads what OpenSSL's DER decoder reads: the same key for
 * well-formed SPKIs, and a refusal where the decoder refuses, checked on a
 * low-bit and a high-bit flip of every byte of the keys it takes the fast way.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { publicKeyFromSpki } from '../../src/pki/spki_key.js';

type Outcome = { spki: string } | { refused: true };

function outcome(read: () => KeyObject): Outcome {
  try {
    return { spki: read().export({ type: 'spki', format: 'der' }).toString('hex') };
  } catch {
    return { refused: true };
  }
}

const sameAsOpenSsl = (der: Buffer) =>
  assert.deepEqual(
    outcome(() => publicKeyFromSpki(der)),
    outcome(() => createPublicKey({ key: der, format: 'der', type: 'spki' })),
    der.toString('hex'),
  );

const keys = {
  'ECDSA P-256': generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ECDSA P-384': generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'RSA 2048': generateKeyPairSync('rsa', { modulusLength: 2048 }),
  'RSA 3072, e=3': generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 }),
};

describe('publicKeyFromSpki', () => {
  for (const [name, pair] of Object.entries(keys)) {
    const der = pair.publicKey.export({ type: 'spki', format: 'der' });

    test(`${name}: the same key as the DER decoder, and it checks a signature`, () => {
      const key = publicKeyFromSpki(der);
      assert.ok(key.export({ type: 'spki', format: 'der' }).equals(der));
      const data = Buffer.from(`signed by ${name}`);
      const signature = sign('sha256', data, pair.privateKey);
      assert.equal(verify('sha256', data, key, signature), true);
      assert.equal(verify('sha256', Buffer.from('something else'), key, signature), false);
    });

    test(`${name}: a low-bit and a high-bit flip of every byte is read, or refused, as the DER decoder does`, () => {
      for (let i = 0; i < der.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const corrupt = Buffer.from(der);
          corrupt[i] = (corrupt[i] as number) ^ bit;
          sameAsOpenSsl(corrupt);
        }
      }
    });

    test(`${name}: truncated, extended and empty inputs are refused as the DER decoder refuses them`, () => {
      for (const cut of [1, 2, der.length - 1]) sameAsOpenSsl(der.subarray(0, cut));
      sameAsOpenSsl(Buffer.concat([der, Buffer.from([0])]));
      sameAsOpenSsl(Buffer.alloc(0));
    });
  }

  test('keys outside the fast path (a compressed EC point, Ed25519) still come through the DER decoder', () => {
    const { x, y } = keys['ECDSA P-256'].publicKey.export({ format: 'jwk' });
    const yBytes = Buffer.from(y as string, 'base64url');
    const compressedPoint = Buffer.concat([Buffer.from([(yBytes.at(-1) as number) & 1 ? 3 : 2]), Buffer.from(x as string, 'base64url')]);
    const compressed = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressedPoint]);
    sameAsOpenSsl(compressed);
    assert.deepEqual(publicKeyFromSpki(compressed).export({ format: 'jwk' }), { kty: 'EC', crv: 'P-256', x, y });
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    sameAsOpenSsl(ed25519);
    assert.equal(publicKeyFromSpki(ed25519).asymmetricKeyType, 'ed25519');
  });
});
