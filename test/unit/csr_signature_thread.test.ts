/**
 * CSR signatures checked on the worker thread give the same verdicts as the
 * same check made here: a good signature is valid, a changed one or one over
 * other bytes is not, and a key OpenSSL cannot read is reported as such.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import { checkSignatureHere, checkSignatureOnThread, type SignatureCheck } from '../../src/pki/csr_signature_thread.js';
import { spkiKeyInput } from '../../src/pki/spki_key.js';

function signedCheck(type: 'ec' | 'rsa' | 'ed25519'): SignatureCheck {
  const { privateKey, publicKey } =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const signed = Buffer.from(`the bytes a ${type} key signed`);
  const hash = type === 'ed25519' ? null : 'sha256';
  return { hash, key: spkiKeyInput(publicKey.export({ type: 'spki', format: 'der' })), signed, signature: sign(hash, signed, privateKey) };
}

describe('CSR signatures on the worker thread', () => {
  for (const type of ['ec', 'rsa', 'ed25519'] as const) {
    test(`${type}: valid as signed, invalid with a changed signature or other bytes, as when checked here`, async () => {
      const good = signedCheck(type);
      const flipped = Buffer.from(good.signature);
      flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
      const cases: [SignatureCheck, string][] = [
        [good, 'valid'],
        [{ ...good, signature: flipped }, 'invalid'],
        [{ ...good, signed: Buffer.from('other bytes') }, 'invalid'],
      ];
      for (const [check, expected] of cases) {
        assert.equal(await checkSignatureOnThread(check), expected);
        assert.equal(checkSignatureHere(check), expected);
      }
    });
  }

  test('a key OpenSSL cannot read is reported as unreadable, not as a bad signature', async () => {
    const check: SignatureCheck = { ...signedCheck('ec'), key: { key: Buffer.from('3003020100', 'hex'), format: 'der', type: 'spki' } };
    assert.equal(await checkSignatureOnThread(check), 'unreadable-key');
    assert.equal(checkSignatureHere(check), 'unreadable-key');
  });

  test('many checks in flight each get their own verdict', async () => {
    const good = signedCheck('ec');
    const bad = { ...good, signed: Buffer.from('not what was signed') };
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => checkSignatureOnThread(i % 3 === 0 ? bad : good)));
    assert.deepEqual(verdicts, Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 'invalid' : 'valid')));
  });
});
