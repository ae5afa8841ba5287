import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCsr } from '../../src/pki/csr.js';
import { generateKeyPair, type KeyAlgorithm } from '../../src/pki/keys.js';
import { checkPastedCsr } from '../../src/ra/application_checks.js';

describe('checkPastedCsr (the apply panel\'s "Check CSR")', () => {
  const labels: [KeyAlgorithm, string][] = [
    ['ecdsa-p256', 'ECDSA P-256'],
    ['ecdsa-p384', 'ECDSA P-384'],
    ['rsa-2048', 'RSA 2048'],
  ];
  for (const [algorithm, label] of labels) {
    test(`names the key as the certificate detail does: ${label}`, async () => {
      const pem = createCsr(generateKeyPair(algorithm).privateKeyPem, ['www.example.com', '*.example.net']);
      const result = await checkPastedCsr(pem, ['*.example.net', 'WWW.example.com']);
      assert.equal(result.valid, true, JSON.stringify(result.problem));
      assert.equal(result.key, label);
      assert.deepEqual(result.names, ['www.example.com', '*.example.net']);
      assert.equal(result.commonName, 'www.example.com');
    });
  }

  test('a CSR for other names is reported as a problem, not thrown', async () => {
    const pem = createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['shop.example.com']);
    const result = await checkPastedCsr(pem, ['www.example.com']);
    assert.equal(result.valid, false);
    assert.equal(result.key, null);
    assert.equal(result.problem?.code, 'CSR_NAMES_MISMATCH');
    assert.match(result.problem?.message ?? '', /missing from the CSR: www\.example\.com/);
  });

  test('text that is not a CSR is CSR_INVALID', async () => {
    assert.equal((await checkPastedCsr('hello', ['www.example.com'])).problem?.code, 'CSR_INVALID');
  });
});
