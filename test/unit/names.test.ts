import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CertdeskError } from '../../src/errors.js';
import {
  checkNames,
  normalizeName,
  parseNameList,
  quotaFor,
  registeredDomain,
  type BoundName,
  type NameQuota,
} from '../../src/ra/names.js';

/** Asserts that `fn` throws a CertdeskError with this code and field; returns it for further checks. */
function rejects(fn: () => unknown, code: string, field: string): CertdeskError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CertdeskError, `expected CertdeskError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field);
    assert.equal(err.status, 400);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

const SINGLE: NameQuota = { wildcard: 0, plain: 1 };
const WILDCARD: NameQuota = { wildcard: 1, plain: 0 };
const MULTI5: NameQuota = { wildcard: 0, plain: 5 };

describe('quotaFor', () => {
  const cases: [string, Parameters<typeof quotaFor>[0], NameQuota][] = [
    ['single', [{ domainType: 'single', domainCount: 1 }], { wildcard: 0, plain: 1 }],
    ['wildcard', [{ domainType: 'wildcard', domainCount: 1 }], { wildcard: 1, plain: 0 }],
    ['multi with 5 domains', [{ domainType: 'multi', domainCount: 5 }], { wildcard: 0, plain: 5 }],
    [
      'multi-domain wildcard (two wildcard instances combined)',
      [
        { domainType: 'wildcard', domainCount: 1 },
        { domainType: 'wildcard', domainCount: 1 },
      ],
      { wildcard: 2, plain: 0 },
    ],
    [
      'hybrid (wildcard + multi combined)',
      [
        { domainType: 'wildcard', domainCount: 1 },
        { domainType: 'multi', domainCount: 3 },
        { domainType: 'single', domainCount: 1 },
      ],
      { wildcard: 1, plain: 4 },
    ],
    ['no instances', [], { wildcard: 0, plain: 0 }],
  ];
  for (const [label, instances, expected] of cases) {
    test(label, () => assert.deepEqual(quotaFor(instances), expected));
  }

  test('a multi instance without a positive domain count is a programming error', () => {
    assert.throws(() => quotaFor([{ domainType: 'multi', domainCount: 0 }]), RangeError);
    assert.throws(() => quotaFor([{ domainType: 'multi', domainCount: 2.5 }]), RangeError);
  });
});

describe('parseNameList', () => {
  test('one name per line, as typed into the console', () => {
    assert.deepEqual(parseNameList('a.example.com\nb.example.com\r\n\n  c.example.com  \n'), [
      'a.example.com',
      'b.example.com',
      'c.example.com',
    ]);
  });
  test('commas and spaces also separate', () => {
    assert.deepEqual(parseNameList('a.example.com, b.example.com c.example.com,,'), ['a.example.com', 'b.example.com', 'c.example.com']);
  });
  test('an array is trimmed and empty entries dropped', () => {
    assert.deepEqual(parseNameList([' a.example.com ', '', '   ', 'b.example.com']), ['a.example.com', 'b.example.com']);
  });
  test('empty input gives no names', () => {
    assert.deepEqual(parseNameList(''), []);
    assert.deepEqual(parseNameList([]), []);
  });
  test('a non-text element is refused with its field, not a crash', () => {
    rejects(() => parseNameList(['a.example.com', 42 as unknown as string]), 'DOMAIN_INVALID', 'domains[1]');
  });
});

describe('normalizeName: accepted names', () => {
  const cases: [input: string, expected: BoundName][] = [
    ['www.example.com', { name: 'www.example.com', display: 'www.example.com', kind: 'dns' }],
    ['  WWW.Example.COM  ', { name: 'www.example.com', display: 'www.example.com', kind: 'dns' }],
    ['www.example.com.', { name: 'www.example.com', display: 'www.example.com', kind: 'dns' }],
    ['münchen.de', { name: 'xn--mnchen-3ya.de', display: 'münchen.de', kind: 'dns' }],
    ['MÜNCHEN.de', { name: 'xn--mnchen-3ya.de', display: 'münchen.de', kind: 'dns' }],
    ['xn--mnchen-3ya.de', { name: 'xn--mnchen-3ya.de', display: 'münchen.de', kind: 'dns' }],
    ['пример.рф', { name: 'xn--e1afmkfd.xn--p1ai', display: 'пример.рф', kind: 'dns' }],
    ['*.münchen.de', { name: '*.xn--mnchen-3ya.de', display: '*.münchen.de', kind: 'wildcard' }],
    ['*.example.com', { name: '*.example.com', display: '*.example.com', kind: 'wildcard' }],
    ['*.example.co.uk', { name: '*.example.co.uk', display: '*.example.co.uk', kind: 'wildcard' }],
    ['*.foo.github.io', { name: '*.foo.github.io', display: '*.foo.github.io', kind: 'wildcard' }],
    // A plain name is judged by the ICANN suffixes only: github.io is a real host under .io.
    ['github.io', { name: 'github.io', display: 'github.io', kind: 'dns' }],
    ['example.co.uk', { name: 'example.co.uk', display: 'example.co.uk', kind: 'dns' }],
    ['a-b--c.example.com', { name: 'a-b--c.example.com', display: 'a-b--c.example.com', kind: 'dns' }],
    [`${'a'.repeat(63)}.example.com`, { name: `${'a'.repeat(63)}.example.com`, display: `${'a'.repeat(63)}.example.com`, kind: 'dns' }],
    ['8.8.8.8', { name: '8.8.8.8', display: '8.8.8.8', kind: 'ip' }],
    ['2001:4860:4860::8888', { name: '2001:4860:4860::8888', display: '2001:4860:4860::8888', kind: 'ip' }],
    ['2001:4860:4860:0:0:0:0:8888', { name: '2001:4860:4860::8888', display: '2001:4860:4860::8888', kind: 'ip' }],
    ['[2001:4860:4860::8888]', { name: '2001:4860:4860::8888', display: '2001:4860:4860::8888', kind: 'ip' }],
    ['2606:4700:4700:0000:0000:0000:0000:1111', { name: '2606:4700:4700::1111', display: '2606:4700:4700::1111', kind: 'ip' }],
    ['2A00:1450:4001:0:0:0:0:200E', { name: '2a00:1450:4001::200e', display: '2a00:1450:4001::200e', kind: 'ip' }],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(normalizeName(input, 'domains[0]'), expected));
  }

  test('a name of exactly 253 characters is accepted', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    assert.equal(name.length, 253);
    assert.equal(normalizeName(name, 'domains[0]').name, name);
  });
});

describe('normalizeName: refused names', () => {
  test('a control character is named by its code point, since it prints as nothing', () => {
    const error = rejects(() => normalizeName('www\u0000.example\u0007.com', 'domains[0]'), 'DOMAIN_INVALID', 'domains[0]');
    assert.equal(error.message, '"www<U+0000>.example<U+0007>.com" contains the control character U+0000; a domain name can only contain letters, digits, hyphens and dots.');
    assert.match(rejects(() => normalizeName('exa!mple.com', 'domains[0]'), 'DOMAIN_INVALID', 'domains[0]').message, /^"exa!mple\.com" contains "!";/);
  });

  const cases: [input: string, code: string][] = [
    ['', 'DOMAIN_INVALID'],
    ['   ', 'DOMAIN_INVALID'],
    ['https://www.example.com', 'DOMAIN_INVALID'],
    ['www.example.com/path', 'DOMAIN_INVALID'],
    ['www.example.com:443', 'DOMAIN_INVALID'],
    ['www.example.com?x=1', 'DOMAIN_INVALID'],
    ['admin@example.com', 'DOMAIN_INVALID'],
    ['a..example.com', 'DOMAIN_INVALID'],
    ['.example.com', 'DOMAIN_INVALID'],
    ['example.com..', 'DOMAIN_INVALID'],
    ['.', 'DOMAIN_INVALID'],
    [`${'a'.repeat(64)}.example.com`, 'DOMAIN_INVALID'],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`, 'DOMAIN_INVALID'],
    ['foo_bar.example.com', 'DOMAIN_INVALID'],
    ['ｆｏｏ＿bar.example.com', 'DOMAIN_INVALID'],
    ['exa mple.com', 'DOMAIN_INVALID'],
    ['exa!mple.com', 'DOMAIN_INVALID'],
    ['ex%61mple.com', 'DOMAIN_INVALID'],
    ['-www.example.com', 'DOMAIN_INVALID'],
    ['www-.example.com', 'DOMAIN_INVALID'],
    ['*', 'DOMAIN_INVALID'],
    ['*.*.example.com', 'DOMAIN_INVALID'],
    ['www.*.example.com', 'DOMAIN_INVALID'],
    ['w*.example.com', 'DOMAIN_INVALID'],
    ['**.example.com', 'DOMAIN_INVALID'],
    ['*example.com', 'DOMAIN_INVALID'],
    ['example.123', 'DOMAIN_INVALID'],
    ['1.2.3', 'DOMAIN_INVALID'],
    ['010.1.1.1', 'DOMAIN_INVALID'],
    ['0x7f', 'DOMAIN_INVALID'],
    ['xn--abc.com', 'DOMAIN_INVALID'],
    ['fe80::1%eth0', 'DOMAIN_INVALID'],
    ['[::1]:443', 'DOMAIN_INVALID'],
    ['intranet', 'DOMAIN_NOT_PUBLIC'],
    ['localhost', 'DOMAIN_NOT_PUBLIC'],
    ['host.local', 'DOMAIN_NOT_PUBLIC'],
    ['foo.internal', 'DOMAIN_NOT_PUBLIC'],
    ['a.test', 'DOMAIN_NOT_PUBLIC'],
    ['bücher.example', 'DOMAIN_NOT_PUBLIC'],
    ['foo.invalid', 'DOMAIN_NOT_PUBLIC'],
    ['server.corp', 'DOMAIN_NOT_PUBLIC'],
    ['expyuzz4wqqyqhjn.onion', 'DOMAIN_NOT_PUBLIC'],
    ['4.3.2.1.in-addr.arpa', 'DOMAIN_NOT_PUBLIC'],
    ['*.host.local', 'DOMAIN_NOT_PUBLIC'],
    ['com', 'DOMAIN_IS_PUBLIC_SUFFIX'],
    ['co.uk', 'DOMAIN_IS_PUBLIC_SUFFIX'],
    ['COM.', 'DOMAIN_IS_PUBLIC_SUFFIX'],
    ['*.com', 'WILDCARD_ON_PUBLIC_SUFFIX'],
    ['*.co.uk', 'WILDCARD_ON_PUBLIC_SUFFIX'],
    ['*.github.io', 'WILDCARD_ON_PUBLIC_SUFFIX'],
    ['*.s3.amazonaws.com', 'WILDCARD_ON_PUBLIC_SUFFIX'],
    ['*.1.2.3.4', 'WILDCARD_IP'],
    ['*.[2001:4860:4860::8888]', 'WILDCARD_IP'],
    ['10.1.2.3', 'IP_NOT_PUBLIC'],
    ['172.16.0.1', 'IP_NOT_PUBLIC'],
    ['192.168.1.1', 'IP_NOT_PUBLIC'],
    ['127.0.0.1', 'IP_NOT_PUBLIC'],
    ['100.64.0.1', 'IP_NOT_PUBLIC'],
    ['169.254.169.254', 'IP_NOT_PUBLIC'],
    ['0.0.0.0', 'IP_NOT_PUBLIC'],
    ['192.0.2.10', 'IP_NOT_PUBLIC'],
    ['198.51.100.7', 'IP_NOT_PUBLIC'],
    ['203.0.113.9', 'IP_NOT_PUBLIC'],
    ['198.18.0.1', 'IP_NOT_PUBLIC'],
    ['224.0.0.251', 'IP_NOT_PUBLIC'],
    ['240.0.0.1', 'IP_NOT_PUBLIC'],
    ['255.255.255.255', 'IP_NOT_PUBLIC'],
    ['::', 'IP_NOT_PUBLIC'],
    ['::1', 'IP_NOT_PUBLIC'],
    ['[::1]', 'IP_NOT_PUBLIC'],
    ['fe80::1', 'IP_NOT_PUBLIC'],
    ['fd12:3456::1', 'IP_NOT_PUBLIC'],
    ['2001:db8::1', 'IP_NOT_PUBLIC'],
    ['3fff::1', 'IP_NOT_PUBLIC'],
    ['2001::1', 'IP_NOT_PUBLIC'],
    ['2002:c000:0204::1', 'IP_NOT_PUBLIC'],
    ['ff02::1', 'IP_NOT_PUBLIC'],
    ['::ffff:8.8.8.8', 'IP_NOT_PUBLIC'],
    ['64:ff9b::808:808', 'IP_NOT_PUBLIC'],
    ['5f00::1', 'IP_NOT_PUBLIC'],
  ];
  for (const [input, code] of cases) {
    test(`${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)} → ${code}`, () => {
      const err = rejects(() => normalizeName(input, 'domains[2]'), code, 'domains[2]');
      assert.ok(err.message.length > 20, 'the message explains what to fix');
    });
  }

  test('a URL, path or port is answered with how to write a bare domain', () => {
    for (const input of ['https://www.example.com', 'www.example.com/index.html', 'www.example.com:8443']) {
      const err = rejects(() => normalizeName(input, 'domains[0]'), 'DOMAIN_INVALID', 'domains[0]');
      assert.match(err.message, /enter a bare domain like www\.example\.com/);
    }
  });

  test('the IP message names the range', () => {
    const err = rejects(() => normalizeName('192.168.1.1', 'domains[0]'), 'IP_NOT_PUBLIC', 'domains[0]');
    assert.match(err.message, /private.*192\.168\.0\.0\/16/);
  });
});

describe('checkNames', () => {
  test('five domains, one per line, on a 5-domain instance', () => {
    const text = 'www.example.com\nexample.com\nmail.example.com\napi.example.com\nmünchen.de\n';
    const names = checkNames(text, MULTI5);
    assert.deepEqual(
      names.map((n) => n.name),
      ['www.example.com', 'example.com', 'mail.example.com', 'api.example.com', 'xn--mnchen-3ya.de'],
    );
    assert.equal(names[4]!.display, 'münchen.de');
  });

  test('fewer names than the quota is fine', () => {
    assert.equal(checkNames(['a.example.com', 'b.example.com'], MULTI5).length, 2);
  });

  test('a single-domain instance takes one name, and www does not add the apex implicitly', () => {
    assert.deepEqual(checkNames('www.example.com', SINGLE), [{ name: 'www.example.com', display: 'www.example.com', kind: 'dns' }]);
  });

  test('a wildcard instance takes one wildcard name', () => {
    assert.deepEqual(checkNames(['*.example.com'], WILDCARD), [{ name: '*.example.com', display: '*.example.com', kind: 'wildcard' }]);
  });

  test('a hybrid (combined) application binds a wildcard and names under it', () => {
    const quota = quotaFor([
      { domainType: 'wildcard', domainCount: 1 },
      { domainType: 'multi', domainCount: 2 },
    ]);
    const names = checkNames(['*.example.com', 'example.com', 'a.example.com'], quota);
    assert.deepEqual(
      names.map((n) => [n.name, n.kind]),
      [
        ['*.example.com', 'wildcard'],
        ['example.com', 'dns'],
        ['a.example.com', 'dns'],
      ],
    );
  });

  test('a multi-domain wildcard (two wildcard instances combined) binds two wildcards', () => {
    const quota = quotaFor([
      { domainType: 'wildcard', domainCount: 1 },
      { domainType: 'wildcard', domainCount: 1 },
    ]);
    assert.equal(checkNames(['*.example.com', '*.example.org'], quota).length, 2);
  });

  test('IP addresses are plain names when the product allows them', () => {
    const names = checkNames(['8.8.8.8', '2001:4860:4860:0:0:0:0:8888'], { wildcard: 0, plain: 2 }, { allowIp: true });
    assert.deepEqual(
      names.map((n) => [n.name, n.kind]),
      [
        ['8.8.8.8', 'ip'],
        ['2001:4860:4860::8888', 'ip'],
      ],
    );
  });

  test('IP_NOT_ALLOWED when the product binds domain names only (the default)', () => {
    rejects(() => checkNames(['www.example.com', '8.8.8.8'], MULTI5), 'IP_NOT_ALLOWED', 'domains[1]');
    rejects(() => checkNames(['10.0.0.1'], MULTI5, { allowIp: false }), 'IP_NOT_ALLOWED', 'domains[0]');
  });

  test('a private IP is IP_NOT_PUBLIC even when IPs are allowed', () => {
    rejects(() => checkNames(['10.0.0.1'], MULTI5, { allowIp: true }), 'IP_NOT_PUBLIC', 'domains[0]');
  });

  test('DOMAINS_REQUIRED for empty input', () => {
    for (const input of ['', ' \n \n', [], ['', '  ']]) {
      rejects(() => checkNames(input, MULTI5), 'DOMAINS_REQUIRED', 'domains');
    }
  });

  test('the field of an invalid name is its position; all per-name errors are in details', () => {
    const err = rejects(
      () => checkNames('www.example.com\nfoo_bar.example.com\nhost.local\n', MULTI5),
      'DOMAIN_INVALID',
      'domains[1]',
    );
    assert.deepEqual(
      (err.details?.errors as { field: string; code: string }[]).map((e) => [e.field, e.code]),
      [
        ['domains[1]', 'DOMAIN_INVALID'],
        ['domains[2]', 'DOMAIN_NOT_PUBLIC'],
      ],
    );
  });

  test('array input keeps the caller\'s indexes even with empty elements', () => {
    rejects(() => checkNames(['www.example.com', '', 'intranet'], MULTI5), 'DOMAIN_NOT_PUBLIC', 'domains[2]');
  });

  test('per-name errors come before quota errors', () => {
    rejects(() => checkNames(['a.example.com', 'b.example.com', 'com'], SINGLE), 'DOMAIN_IS_PUBLIC_SUFFIX', 'domains[2]');
  });

  test('DOMAIN_DUPLICATE after normalization', () => {
    const cases: [string[], string][] = [
      [['www.example.com', 'WWW.EXAMPLE.COM.'], 'domains[1]'],
      [['münchen.de', 'a.example.com', 'xn--mnchen-3ya.de'], 'domains[2]'],
      [['2001:4860:4860::8888', '2001:4860:4860:0:0:0:0:8888'], 'domains[1]'],
      [['*.example.com', '*.EXAMPLE.com'], 'domains[1]'],
    ];
    for (const [input, field] of cases) {
      const err = rejects(() => checkNames(input, { wildcard: 2, plain: 5 }, { allowIp: true }), 'DOMAIN_DUPLICATE', field);
      assert.match(err.message, /domains\[0\]/);
    }
  });

  test('*.example.com and example.com are different names', () => {
    assert.equal(checkNames(['*.example.com', 'example.com'], { wildcard: 1, plain: 1 }).length, 2);
  });

  test('WILDCARD_NOT_ALLOWED on a single-domain or multi-domain instance', () => {
    const single = rejects(() => checkNames(['*.example.com'], SINGLE), 'WILDCARD_NOT_ALLOWED', 'domains[0]');
    assert.match(single.message, /single-domain certificate.*buy a wildcard instance, or combine/);
    const multi = rejects(() => checkNames(['a.example.com', '*.example.com'], MULTI5), 'WILDCARD_NOT_ALLOWED', 'domains[1]');
    assert.match(multi.message, /multi-domain certificate/);
  });

  test('TOO_MANY_WILDCARDS beyond the wildcard quota', () => {
    const err = rejects(() => checkNames(['*.example.com', '*.example.org'], WILDCARD), 'TOO_MANY_WILDCARDS', 'domains[1]');
    assert.match(err.message, /covers 1 wildcard.*you entered 2/);
  });

  test('TOO_MANY_DOMAINS beyond the plain quota names the counts', () => {
    const err = rejects(
      () => checkNames('a.example.com\nb.example.com\nc.example.com', { wildcard: 0, plain: 2 }),
      'TOO_MANY_DOMAINS',
      'domains[2]',
    );
    assert.match(err.message, /covers 2 domain\(s\); you entered 3/);
    rejects(() => checkNames(['www.example.com', 'example.com'], SINGLE), 'TOO_MANY_DOMAINS', 'domains[1]');
  });

  test('TOO_MANY_DOMAINS for a plain name on a wildcard-only instance', () => {
    const err = rejects(() => checkNames(['*.example.com', 'example.com'], WILDCARD), 'TOO_MANY_DOMAINS', 'domains[1]');
    assert.match(err.message, /wildcard certificate takes exactly one name like \*\.example\.com/);
  });

  test('TOO_MANY_DOMAINS for the plain part of a hybrid', () => {
    const quota = quotaFor([
      { domainType: 'wildcard', domainCount: 1 },
      { domainType: 'single', domainCount: 1 },
    ]);
    rejects(() => checkNames(['*.example.com', 'example.com', 'www.example.org'], quota), 'TOO_MANY_DOMAINS', 'domains[2]');
  });
});

describe('registeredDomain', () => {
  const cases: [string, string | null][] = [
    ['www.example.com', 'example.com'],
    ['*.a.b.example.co.uk', 'example.co.uk'],
    ['example.com', 'example.com'],
    ['xn--mnchen-3ya.de', 'xn--mnchen-3ya.de'],
    ['foo.github.io', 'foo.github.io'],
    ['github.io', 'github.io'],
    ['com', null],
    ['8.8.8.8', null],
    ['2001:4860:4860::8888', null],
  ];
  for (const [name, expected] of cases) {
    test(`${name} → ${expected}`, () => assert.equal(registeredDomain(name), expected));
  }
});
