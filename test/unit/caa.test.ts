import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateCaa } from '../../src/va/caa.js';
import type { CaaRecord } from '../../src/va/dns_client.js';

const us = { identities: ['certdesk.local'], wildcard: false, methods: ['ca-dns-txt'] };
const usWildcard = { identities: ['certdesk.local'], wildcard: true, methods: ['ca-dns-txt'] };
const account = 'https://ca.example/acme/acct/acct_1';
/** An ACME order before a challenge is chosen: every offered method may still prove the name. */
const acmeOrder = { identities: ['certdesk.local'], wildcard: false, accountUri: account, methods: ['http-01', 'dns-01', 'tls-alpn-01'] };
const caa = (tag: string, value: string, flags = 0): CaaRecord => ({ flags, tag, value });

describe('evaluateCaa (RFC 8659 §4)', () => {
  test('no records allow any CA', () => {
    assert.equal(evaluateCaa([], us).allowed, true);
    assert.equal(evaluateCaa([], usWildcard).allowed, true);
  });

  test('an issue record naming us allows issuance', () => {
    const decision = evaluateCaa([caa('issue', 'certdesk.local')], us);
    assert.equal(decision.allowed, true);
    assert.match(decision.reason, /certdesk\.local/);
  });

  test('an issue record naming another CA forbids us and says what to add', () => {
    const decision = evaluateCaa([caa('issue', 'letsencrypt.org')], us);
    assert.equal(decision.allowed, false);
    assert.match(decision.reason, /letsencrypt\.org/);
    assert.match(decision.reason, /0 issue "certdesk\.local"/);
  });

  test('an empty issuer value ";" forbids every CA', () => {
    const decision = evaluateCaa([caa('issue', ';')], us);
    assert.equal(decision.allowed, false);
    assert.match(decision.reason, /no CA/);
    assert.equal(evaluateCaa([caa('issue', '  ;  ')], us).allowed, false);
  });

  test('for a wildcard, issuewild takes precedence over issue', () => {
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local'), caa('issuewild', 'other.example')], usWildcard).allowed, false);
    assert.equal(evaluateCaa([caa('issue', 'other.example'), caa('issuewild', 'certdesk.local')], usWildcard).allowed, true);
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local'), caa('issuewild', ';')], usWildcard).allowed, false);
  });

  test('for a wildcard without issuewild, issue decides', () => {
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local')], usWildcard).allowed, true);
    assert.equal(evaluateCaa([caa('issue', 'other.example')], usWildcard).allowed, false);
  });

  test('issuewild is ignored for a non-wildcard name', () => {
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local'), caa('issuewild', ';')], us).allowed, true);
    assert.equal(evaluateCaa([caa('issue', 'other.example'), caa('issuewild', 'certdesk.local')], us).allowed, false);
    assert.equal(evaluateCaa([caa('issuewild', ';')], us).allowed, true, 'only issuewild: non-wildcard issuance is unrestricted');
  });

  test('parameters this CA does not know are ignored; the issuer is only what comes before ";"', () => {
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local;policy=ev')], us).allowed, true);
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local; ')], us).allowed, true);
    assert.equal(evaluateCaa([caa('issue', 'other.example; certdesk.local')], us).allowed, false);
  });

  test('accounturi (RFC 8657 §3) authorizes only that ACME account, never the REST API', () => {
    assert.equal(evaluateCaa([caa('issue', `certdesk.local; accounturi=${account}`)], acmeOrder).allowed, true);
    const other = evaluateCaa([caa('issue', 'certdesk.local; accounturi=https://ca.example/acme/acct/acct_2')], acmeOrder);
    assert.equal(other.allowed, false);
    assert.match(other.reason, /authorizes only the ACME account https:\/\/ca\.example\/acme\/acct\/acct_2, and this order comes from https:\/\/ca\.example\/acme\/acct\/acct_1/);
    const rest = evaluateCaa([caa('issue', `certdesk.local; accounturi=${account}`)], us);
    assert.equal(rest.allowed, false);
    assert.match(rest.reason, /the REST API or the console has no ACME account/);
  });

  test('validationmethods (RFC 8657 §4) authorizes only the listed methods', () => {
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local; validationmethods=ca-dns-txt')], us).allowed, true);
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local; validationmethods=http-01,ca-dns-txt')], us).allowed, true);
    const refused = evaluateCaa([caa('issue', 'certdesk.local; validationmethods=dns-01,http-01')], us);
    assert.equal(refused.allowed, false);
    assert.match(refused.reason, /allows only the validation methods dns-01, http-01, and the name was or can be proven only by ca-dns-txt/);
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local; validationmethods=dns-01')], acmeOrder).allowed, true, 'an order may still use dns-01');
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local; validationmethods=dns-01')], { ...acmeOrder, methods: ['http-01'] }).allowed, false, 'a name proven by http-01');
  });

  test('both parameters must hold, and one record that authorizes is enough', () => {
    const both = caa('issue', `certdesk.local; accounturi=${account}; validationmethods=dns-01`);
    assert.equal(evaluateCaa([both], { ...acmeOrder, methods: ['dns-01'] }).allowed, true);
    assert.equal(evaluateCaa([both], { ...acmeOrder, methods: ['http-01'] }).allowed, false);
    assert.equal(evaluateCaa([both, caa('issue', 'certdesk.local; validationmethods=http-01')], { ...acmeOrder, methods: ['http-01'] }).allowed, true);
  });

  test('a parameter that cannot be read authorizes nothing', () => {
    for (const value of ['certdesk.local; accounturi', 'certdesk.local; validationmethods=', 'certdesk.local; validationmethods=dns-01,,http-01', 'certdesk.local; =x']) {
      const decision = evaluateCaa([caa('issue', value)], { ...acmeOrder, methods: ['dns-01', 'http-01'] });
      assert.equal(decision.allowed, false, value);
      assert.match(decision.reason, /authorizes nothing/);
    }
  });

  test('tags and issuer domains match case-insensitively', () => {
    assert.equal(evaluateCaa([caa('ISSUE', 'CertDesk.Local')], us).allowed, true);
    assert.equal(evaluateCaa([caa('Issue', 'other.example')], us).allowed, false);
    assert.equal(evaluateCaa([caa('IssueWild', ';'), caa('issue', 'certdesk.local')], usWildcard).allowed, false);
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local.')], us).allowed, true, 'a trailing dot is the same domain');
  });

  test('an unknown tag with the critical flag forbids issuance', () => {
    const decision = evaluateCaa([caa('issue', 'certdesk.local'), caa('tbs', 'unknown', 128)], us);
    assert.equal(decision.allowed, false);
    assert.match(decision.reason, /critical/);
    assert.match(decision.reason, /tbs/);
    assert.equal(evaluateCaa([caa('tbs', 'unknown', 129)], us).allowed, false, 'other flag bits do not hide the critical bit');
  });

  test('a critical flag on a known tag does not forbid', () => {
    assert.equal(evaluateCaa([caa('issue', 'certdesk.local', 128)], us).allowed, true);
    assert.equal(evaluateCaa([caa('iodef', 'mailto:sec@example.com', 128), caa('issue', 'certdesk.local')], us).allowed, true);
  });

  test('a non-critical unknown tag is ignored', () => {
    assert.equal(evaluateCaa([caa('tbs', 'unknown'), caa('issue', 'certdesk.local')], us).allowed, true);
    assert.equal(evaluateCaa([caa('tbs', 'unknown'), caa('issue', 'other.example')], us).allowed, false);
    assert.equal(evaluateCaa([caa('tbs', 'unknown', 1)], us).allowed, true, 'bit 1 is not the critical flag');
  });

  test('records without issue or issuewild do not restrict issuance', () => {
    assert.equal(evaluateCaa([caa('iodef', 'mailto:sec@example.com')], us).allowed, true);
    assert.equal(evaluateCaa([caa('iodef', 'mailto:sec@example.com')], usWildcard).allowed, true);
  });

  test('with several issue records, any one naming us is enough', () => {
    assert.equal(evaluateCaa([caa('issue', 'letsencrypt.org'), caa('issue', 'certdesk.local'), caa('issue', ';')], us).allowed, true);
    const decision = evaluateCaa([caa('issue', 'letsencrypt.org'), caa('issue', 'pki.goog')], us);
    assert.equal(decision.allowed, false);
    assert.match(decision.reason, /letsencrypt\.org, pki\.goog/);
  });

  test('any of our identities matches', () => {
    const decision = evaluateCaa([caa('issue', 'ca.example.net')], { identities: ['certdesk.local', 'ca.example.net'], wildcard: false, methods: ['ca-dns-txt'] });
    assert.equal(decision.allowed, true);
  });
});
