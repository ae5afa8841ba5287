import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { authorizationExpiry, challengeTypesFor, isReusable } from '../../src/ra/acme/authorizations.js';
import { newEabHmacKey, verifyExternalAccountBinding } from '../../src/ra/acme/eab.js';
import { fits } from '../../src/ra/acme/orders.js';
import { retryAfterSeconds } from '../../src/ra/acme/rate_limits.js';
import { certificateIdOf, suggestedWindow } from '../../src/ra/acme/renewal_info.js';
import { quotaFor, type BoundName } from '../../src/ra/names.js';
import { problemTypeOfAsync } from '../support/acme_problem.js';

const DAY = 86400_000;
const newAccountUrl = 'https://ca.example/acme/new-account';

describe('External Account Binding', async () => {
  const { publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const secret = Buffer.alloc(32, 5);
  const eab = (header: object, payload: object = jwk, key: Buffer = secret) => {
    const p = Buffer.from(JSON.stringify(header)).toString('base64url');
    const b = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { protected: p, payload: b, signature: createHmac('sha256', key).update(`${p}.${b}`).digest('base64url') };
  };
  const lookup = async (kid: string) => (kid === 'kid-1' ? new Uint8Array(secret) : null);
  const header = { alg: 'HS256', kid: 'kid-1', url: newAccountUrl };

  test('a binding MACed with the key over the account key returns the key id', async () => {
    assert.equal(await verifyExternalAccountBinding(eab(header), jwk, newAccountUrl, lookup), 'kid-1');
  });
  test('a wrong MAC, an unknown kid, a wrong url or another key are unauthorized', async () => {
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding(eab(header, jwk, Buffer.alloc(32, 6)), jwk, newAccountUrl, lookup)), 'unauthorized');
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding(eab({ ...header, kid: 'kid-2' }), jwk, newAccountUrl, lookup)), 'unauthorized');
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding(eab({ ...header, url: 'https://ca.example/acme/new-order' }), jwk, newAccountUrl, lookup)), 'unauthorized');
    const other = await exportJWK((await generateKeyPair('ES256')).publicKey);
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding(eab(header, other), jwk, newAccountUrl, lookup)), 'unauthorized');
  });
  test('a non-MAC algorithm, a nonce or a broken object are malformed', async () => {
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding(eab({ ...header, alg: 'ES256' }), jwk, newAccountUrl, lookup)), 'malformed');
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding(eab({ ...header, nonce: 'x' }), jwk, newAccountUrl, lookup)), 'malformed');
    assert.equal(await problemTypeOfAsync(verifyExternalAccountBinding({ protected: 'x' }, jwk, newAccountUrl, lookup)), 'malformed');
  });
});

describe('authorization reuse window', () => {
  const at = new Date('2026-03-01T00:00:00Z');
  test('a valid authorization is reused for 30 days, not after', () => {
    const expires = authorizationExpiry('valid', at).toISOString();
    assert.equal(isReusable({ status: 'valid', expires }, new Date(at.getTime() + 29 * DAY)), true);
    assert.equal(isReusable({ status: 'valid', expires }, new Date(at.getTime() + 30 * DAY)), false);
    assert.equal(isReusable({ status: 'pending', expires }, at), false);
    assert.equal(isReusable({ status: 'invalid', expires }, at), false);
  });
  test('pending authorizations last as long as an order (7 days)', () => {
    assert.equal(authorizationExpiry('pending', at).getTime() - at.getTime(), 7 * DAY);
  });
  test('wildcards are offered dns-01 only', () => {
    assert.deepEqual(challengeTypesFor({ name: 'example.com', wildcard: true }), ['dns-01']);
    assert.deepEqual(challengeTypesFor({ name: 'example.com', wildcard: false }), ['http-01', 'dns-01', 'tls-alpn-01']);
  });
});

describe('which instance an order draws on', () => {
  const plain = (n: string): BoundName => ({ name: n, display: n, kind: 'dns' });
  const wild = (n: string): BoundName => ({ name: `*.${n}`, display: `*.${n}`, kind: 'wildcard' });
  test('single takes one plain name, wildcard one wildcard, multi up to its count', () => {
    const single = quotaFor([{ domainType: 'single', domainCount: 1 }]);
    const wildcard = quotaFor([{ domainType: 'wildcard', domainCount: 1 }]);
    const multi = quotaFor([{ domainType: 'multi', domainCount: 3 }]);
    assert.equal(fits(single, [plain('a.example')]), true);
    assert.equal(fits(single, [plain('a.example'), plain('b.example')]), false);
    assert.equal(fits(single, [wild('example')]), false);
    assert.equal(fits(wildcard, [wild('example')]), true);
    assert.equal(fits(wildcard, [plain('a.example')]), false);
    assert.equal(fits(multi, [plain('a.example'), plain('b.example'), plain('c.example')]), true);
    assert.equal(fits(multi, [plain('a'), plain('b'), plain('c'), plain('d')]), false);
    assert.equal(fits(multi, [wild('example')]), false);
  });
});

describe('rate limits', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  test('under the limit passes; at the limit the wait is until the oldest leaves the window', () => {
    assert.equal(retryAfterSeconds({ count: 4, limit: 5, oldestAt: now, windowMs: 3600_000, now }), null);
    assert.equal(retryAfterSeconds({ count: 5, limit: 5, oldestAt: new Date(now.getTime() - 3000_000), windowMs: 3600_000, now }), 600);
  });
});

describe('ARI renewal window', () => {
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const notAfter = new Date(notBefore.getTime() + 90 * DAY);
  test('a 90-day certificate is due between day 60 and day 75', () => {
    const w = suggestedWindow({ notBefore, notAfter, revokedAt: null }, notBefore);
    assert.equal(w.start.toISOString(), new Date(notBefore.getTime() + 60 * DAY).toISOString());
    assert.equal(w.end.toISOString(), new Date(notBefore.getTime() + 75 * DAY).toISOString());
  });
  test('a revoked certificate is due now', () => {
    const now = new Date(notBefore.getTime() + 10 * DAY);
    const w = suggestedWindow({ notBefore, notAfter, revokedAt: new Date(now.getTime() - DAY) }, now);
    assert.ok(w.start < w.end && w.end <= now);
  });
  test('the certID is base64url(AKI).base64url(serial)', () => {
    assert.equal(certificateIdOf(Buffer.from([0x69, 0x88, 0x5b]), Buffer.from([0x00, 0x87, 0x65])), 'aYhb.AIdl');
  });
});

describe('EAB HMAC keys', () => {
  test('a key is 32 random bytes in base64url that never starts with "-", so certbot and lego take it as a value', () => {
    const draws = [Buffer.alloc(32, 0xfb), Buffer.alloc(32, 0x11)];
    assert.equal(Buffer.alloc(32, 0xfb).toString('base64url')[0], '-');
    assert.equal(newEabHmacKey(() => draws.shift() as Buffer), Buffer.alloc(32, 0x11).toString('base64url'));
    for (let i = 0; i < 2000; i++) {
      const key = newEabHmacKey();
      assert.notEqual(key[0], '-');
      assert.equal(Buffer.from(key, 'base64url').length, 32);
    }
  });
});
