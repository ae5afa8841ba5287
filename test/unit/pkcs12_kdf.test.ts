import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bmpPassword, PKCS12_KEY_ID, pkcs12Kdf } from '../../src/pki/pkcs12_kdf.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');

describe('pkcs12Kdf (RFC 7292 B.2)', () => {
  test('the widely published SHA-1 vector: "smeg", one iteration, encryption key', () => {
    const key = pkcs12Kdf({ password: 'smeg', salt: hex('0A58CF64530D823F'), id: PKCS12_KEY_ID.encryption, iterations: 1, size: 24, hash: 'sha1' });
    assert.deepEqual(key, hex('8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3'));
  });

  // Expected values from `openssl kdf ... PKCS12KDF` with the password given as its BMPString.
  test('SHA-256 MAC keys as OpenSSL derives them, one block and several blocks with many iterations', () => {
    const one = pkcs12Kdf({ password: 'smeg', salt: hex('0A58CF64530D823F'), id: PKCS12_KEY_ID.mac, iterations: 1, size: 32, hash: 'sha256' });
    assert.deepEqual(one, hex('B26D0CAD11E901AD0BA0CE08B18DF8FC49D2EB271BF02A0CEE1669E01251B18D'));
    const long = pkcs12Kdf({ password: 'queeg', salt: hex('05DEC959ACFF72F7'), id: PKCS12_KEY_ID.mac, iterations: 1000, size: 70, hash: 'sha256' });
    assert.deepEqual(
      long,
      hex('64BD552BB4ECEC8224B888D4FA1DC49C6FF894BFC59B10402D83AD46C0D8DA4B3939EBC25B29DA4F37B875ECE32FA652E232E4CD7E816EA62FD8D769A906367C3C174B3AC5A5'),
    );
  });

  test('the purpose id, the salt and the password each change the key', () => {
    const base = { password: 'pfx-Secret', salt: hex('0001020304050607'), id: PKCS12_KEY_ID.mac, iterations: 10, size: 32, hash: 'sha256' as const };
    const key = pkcs12Kdf(base).toString('hex');
    assert.notEqual(pkcs12Kdf({ ...base, id: PKCS12_KEY_ID.iv }).toString('hex'), key);
    assert.notEqual(pkcs12Kdf({ ...base, salt: hex('0001020304050608') }).toString('hex'), key);
    assert.notEqual(pkcs12Kdf({ ...base, password: 'pfx-secret' }).toString('hex'), key);
    assert.equal(pkcs12Kdf(base).toString('hex'), key);
  });

  test('passwords are null-terminated big-endian BMPStrings; an empty password is just the terminator', () => {
    assert.deepEqual(bmpPassword('ab'), hex('0061006200 00'));
    assert.deepEqual(bmpPassword(''), hex('0000'));
    assert.deepEqual(bmpPassword('é'), hex('00E9 0000'));
  });

  test('an unsupported hash is refused', () => {
    assert.throws(() => pkcs12Kdf({ password: 'x', salt: hex('00'), id: 3, iterations: 1, size: 8, hash: 'md5' as 'sha1' }), RangeError);
  });
});
