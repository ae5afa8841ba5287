/**
 * An application's CSR is parsed and verified once per process: what the memo
 * returns for a repeated CSR must be what a full check would decide, so the
 * names are still compared and a refused CSR is refused every time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkCsr, createCsr } from '../../src/pki/csr.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { checkCsrOnce, parseCsrOnce } from '../../src/ra/checked_csrs.js';

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;

describe('checked CSRs', () => {
  const pem = createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['www.example.com']);

  test('a CSR checked again for the same names gives the same parse as a full check', async () => {
    const first = await checkCsrOnce(pem, ['www.example.com']);
    const again = await checkCsrOnce(pem, ['www.example.com']);
    assert.deepEqual(again.spkiDer, (await checkCsr(pem, ['www.example.com'])).spkiDer);
    assert.equal(again, first);
    assert.equal(parseCsrOnce(pem), first);
  });

  test('names that changed since the last check are compared again', async () => {
    await checkCsrOnce(pem, ['www.example.com']);
    await assert.rejects(checkCsrOnce(pem, ['shop.example.com']), code('CSR_NAMES_MISMATCH'));
    await assert.rejects(checkCsrOnce(pem, ['www.example.com', 'shop.example.com']), code('CSR_NAMES_MISMATCH'));
    assert.equal((await checkCsrOnce(pem, ['www.example.com'])).dnsNames[0], 'www.example.com');
  });

  test('a CSR only parsed before is fully checked, and a refused one is refused every time', async () => {
    const other = createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, ['a.example.org']);
    parseCsrOnce(other);
    await assert.rejects(checkCsrOnce(other, ['b.example.org']), code('CSR_NAMES_MISMATCH'));
    // The last byte of the DER is the signature's last byte.
    const der = Buffer.from(other.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der.writeUInt8((der.at(-1) ?? 0) ^ 0x01, der.length - 1);
    const damaged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    for (let i = 0; i < 2; i++) await assert.rejects(checkCsrOnce(damaged, ['a.example.org']), code('CSR_BAD_SIGNATURE'));
  });
});
