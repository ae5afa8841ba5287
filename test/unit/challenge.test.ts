import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DNS_LABEL, dnsChallenge, fileChallenge } from '../../src/va/challenge.js';

describe('dnsChallenge', () => {
  test('puts the token in a TXT record under _dnsauth', () => {
    assert.equal(DNS_LABEL, '_dnsauth');
    assert.deepEqual(dnsChallenge('www.example.com', 'tok123'), { name: '_dnsauth.www.example.com', type: 'TXT', value: 'tok123' });
  });

  test('a wildcard is proven at its base domain', () => {
    assert.equal(dnsChallenge('*.example.com', 't').name, '_dnsauth.example.com');
    assert.equal(dnsChallenge('*.a.example.com', 't').name, '_dnsauth.a.example.com');
  });

  test('IDN (punycode), upper case and a trailing dot', () => {
    assert.equal(dnsChallenge('xn--mnchen-3ya.example', 't').name, '_dnsauth.xn--mnchen-3ya.example');
    assert.equal(dnsChallenge('WWW.Example.COM.', 't').name, '_dnsauth.www.example.com');
  });
});

describe('fileChallenge', () => {
  test('serves the token under /.well-known/pki-validation/ over plain http', () => {
    assert.deepEqual(fileChallenge('www.example.com', 'tok123', 'ABCDEF'), {
      url: 'http://www.example.com/.well-known/pki-validation/ABCDEF.txt',
      path: '/.well-known/pki-validation/ABCDEF.txt',
      content: 'tok123',
    });
  });

  test('is not offered for a wildcard', () => {
    assert.equal(fileChallenge('*.example.com', 't', 'f'), null);
  });

  test('IDN in punycode', () => {
    assert.equal(fileChallenge('xn--mnchen-3ya.example', 't', 'f')?.url, 'http://xn--mnchen-3ya.example/.well-known/pki-validation/f.txt');
  });

  test('IPv4 literal', () => {
    assert.equal(fileChallenge('192.0.2.10', 't', 'f')?.url, 'http://192.0.2.10/.well-known/pki-validation/f.txt');
  });

  test('IPv6 literal goes in brackets, with or without brackets given', () => {
    assert.equal(fileChallenge('2001:db8::1', 't', 'f')?.url, 'http://[2001:db8::1]/.well-known/pki-validation/f.txt');
    assert.equal(fileChallenge('[2001:DB8::1]', 't', 'f')?.url, 'http://[2001:db8::1]/.well-known/pki-validation/f.txt');
    assert.equal(new URL(fileChallenge('2001:db8::1', 't', 'f')?.url ?? '').hostname, '[2001:db8::1]');
  });
});
