import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { checkCaa } from '../../src/va/caa.js';
import { dnsChallenge, fileChallenge } from '../../src/va/challenge.js';
import { createDnsClient } from '../../src/va/dns_client.js';
import { checkDnsTxt } from '../../src/va/dns_txt.js';
import { checkHttpFile } from '../../src/va/http_file.js';
import { startBind9 } from '../support/bind9.js';
import { startNginx } from '../support/nginx.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

const us = { identities: ['certdesk.local'], wildcard: false, methods: ['ca-dns-txt'] };
const usWildcard = { identities: ['certdesk.local'], wildcard: true, methods: ['ca-dns-txt'] };

test('domain validation and CAA against a real bind9 and nginx', async (t) => {
  for (const tool of ['named', 'nsupdate', 'nginx']) if (!requireTool(t, tool)) return;
  const bind = await startBind9({ zones: ['example.com', 'example.net', 'example.org'] });
  t.after(() => bind.stop());
  const nginx = await startNginx();
  t.after(() => nginx.stop());

  const clock = new ManualClock(new Date('2026-03-01T08:00:00Z'));
  const dns = createDnsClient({ servers: [bind.address], timeoutMs: 1000, tries: 1 });

  await t.test('DNS TXT: the expected value among other TXT records passes', async () => {
    const record = dnsChallenge('www.example.com', 'tok-found-1');
    await bind.addRecord(record.name, 'TXT', 'google-site-verification=abc');
    await bind.addRecord(record.name, 'TXT', record.value);
    const result = await checkDnsTxt(dns, clock, record);
    assert.equal(result.ok, true, result.message);
    assert.equal(result.method, 'dns');
    assert.equal(result.checkedAt, '2026-03-01T08:00:00.000Z');
    assert.equal(result.expected, 'tok-found-1');
    assert.deepEqual([...result.found].sort(), ['google-site-verification=abc', 'tok-found-1']);
    assert.equal(result.reason, undefined);
  });

  await t.test('DNS TXT: chunks are joined and surrounding whitespace is ignored', async () => {
    await bind.addRecord('_dnsauth.chunks.example.com', 'TXT', '"tok-" "chunked"');
    assert.equal((await checkDnsTxt(dns, clock, { name: '_dnsauth.chunks.example.com', value: 'tok-chunked' })).ok, true);
    await bind.addRecord('_dnsauth.spaces.example.com', 'TXT', '"  tok-spaced  "');
    assert.equal((await checkDnsTxt(dns, clock, { name: '_dnsauth.spaces.example.com', value: 'tok-spaced\n' })).ok, true);
  });

  await t.test('DNS TXT: a wrong value fails and lists what is there', async () => {
    await bind.addRecord('_dnsauth.wrong.example.com', 'TXT', 'tok-old');
    const result = await checkDnsTxt(dns, clock, { name: '_dnsauth.wrong.example.com', value: 'tok-new' });
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'WRONG_VALUE');
    assert.deepEqual(result.found, ['tok-old']);
    assert.match(result.message, /"tok-old"/);
    assert.match(result.message, /"tok-new"/);
  });

  await t.test('DNS TXT: a name that does not exist is NXDOMAIN', async () => {
    const result = await checkDnsTxt(dns, clock, { name: '_dnsauth.missing.example.com', value: 'tok' });
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'NXDOMAIN');
    assert.deepEqual(result.found, []);
    assert.match(result.message, /_dnsauth\.missing\.example\.com/);
  });

  await t.test('DNS TXT: a name with other records but no TXT is NO_RECORD', async () => {
    await bind.addRecord('_dnsauth.nodata.example.com', 'A', '192.0.2.1');
    const result = await checkDnsTxt(dns, clock, { name: '_dnsauth.nodata.example.com', value: 'tok' });
    assert.equal(result.reason, 'NO_RECORD');
  });

  await t.test('DNS TXT: a re-check sees records added, changed and removed a moment ago, whatever their TTL', async () => {
    const record = { name: '_dnsauth.fresh.example.com', value: 'tok-fresh' };
    assert.equal((await checkDnsTxt(dns, clock, record)).reason, 'NXDOMAIN');
    // An hour's TTL: an answer cache anywhere between the check and bind9 would serve the old data.
    await bind.addRecord(record.name, 'TXT', 'tok-typo', 3600);
    assert.equal((await checkDnsTxt(dns, clock, record)).reason, 'WRONG_VALUE');
    await bind.removeRecords(record.name, 'TXT');
    await bind.addRecord(record.name, 'TXT', record.value, 3600);
    assert.equal((await checkDnsTxt(dns, clock, record)).ok, true);
    await bind.removeRecords(record.name, 'TXT');
    assert.equal((await checkDnsTxt(dns, clock, record)).reason, 'NXDOMAIN');
  });

  await t.test('CAA records come back as flags, tag and value', async () => {
    await bind.addRecord('mapped.example.com', 'CAA', '0 issue "certdesk.local; accounturi=x"');
    await bind.addRecord('mapped.example.com', 'CAA', '128 tbs "unknown"');
    const answer = await dns.caa('mapped.example.com');
    assert.ok(answer.ok);
    assert.deepEqual(
      [...answer.records].sort((a, b) => a.flags - b.flags),
      [
        { flags: 0, tag: 'issue', value: 'certdesk.local; accounturi=x' },
        { flags: 128, tag: 'tbs', value: 'unknown' },
      ],
    );
    const decision = await checkCaa(dns, 'mapped.example.com', us);
    assert.equal(decision.allowed, false, 'an unknown critical tag forbids issuance');
  });

  await t.test('CAA at the parent forbidding us', async () => {
    await bind.addRecord('example.net', 'CAA', '0 issue "letsencrypt.org"');
    const decision = await checkCaa(dns, 'www.shop.example.net', us);
    assert.equal(decision.allowed, false);
    assert.equal(decision.relevantAt, 'example.net');
    assert.match(decision.reason, /letsencrypt\.org/);
  });

  await t.test('CAA closer to the name overrides the parent', async () => {
    await bind.addRecord('shop.example.net', 'CAA', '0 issue "certdesk.local"');
    const decision = await checkCaa(dns, 'www.shop.example.net', us);
    assert.equal(decision.allowed, true, decision.reason);
    assert.equal(decision.relevantAt, 'shop.example.net');
  });

  await t.test('CAA at the parent allowing us', async () => {
    await bind.addRecord('example.org', 'CAA', '0 issue "certdesk.local"');
    const decision = await checkCaa(dns, 'a.b.example.org', us);
    assert.equal(decision.allowed, true, decision.reason);
    assert.equal(decision.relevantAt, 'example.org');
  });

  await t.test('CAA issuewild decides for a wildcard and only for it', async () => {
    await bind.addRecord('wild.example.com', 'CAA', '0 issue ";"');
    await bind.addRecord('wild.example.com', 'CAA', '0 issuewild "certdesk.local"');
    const wildcard = await checkCaa(dns, '*.wild.example.com', usWildcard);
    assert.equal(wildcard.allowed, true, wildcard.reason);
    assert.equal(wildcard.relevantAt, 'wild.example.com', 'a wildcard starts at its base domain');
    assert.equal((await checkCaa(dns, 'wild.example.com', us)).allowed, false);

    await bind.addRecord('nowild.example.org', 'CAA', '0 issue "certdesk.local"');
    await bind.addRecord('nowild.example.org', 'CAA', '0 issuewild ";"');
    assert.equal((await checkCaa(dns, '*.nowild.example.org', usWildcard)).allowed, false);
    assert.equal((await checkCaa(dns, 'www.nowild.example.org', us)).allowed, true);
  });

  await t.test('no CAA anywhere up to (not including) the TLD allows issuance', async () => {
    const decision = await checkCaa(dns, 'www.plain.example.com', us);
    assert.equal(decision.allowed, true, decision.reason);
    assert.equal(decision.relevantAt, undefined);
  });

  await t.test('HTTP file: nginx serving the token passes', async () => {
    await bind.addRecord('web.example.com', 'A', '127.0.0.1');
    const file = fileChallenge('web.example.com', 'tok-http-1', 'F1');
    assert.ok(file);
    await nginx.writeFile(file.path, `${file.content}\r\n`);
    const result = await checkHttpFile(dns, clock, file, { port: nginx.port });
    assert.equal(result.ok, true, result.message);
    assert.equal(result.method, 'http');
    assert.deepEqual(result.found, ['tok-http-1']);
  });

  await t.test('HTTP file: wrong content fails and shows what was served', async () => {
    const file = fileChallenge('web.example.com', 'tok-http-2', 'F2');
    assert.ok(file);
    await nginx.writeFile(file.path, 'tok-something-else');
    const result = await checkHttpFile(dns, clock, file, { port: nginx.port });
    assert.equal(result.reason, 'WRONG_CONTENT');
    assert.deepEqual(result.found, ['tok-something-else']);
    assert.match(result.message, /tok-something-else/);
    assert.match(result.message, /tok-http-2/);
  });

  await t.test('HTTP file: a body over the limit fails without being read whole', async () => {
    const file = fileChallenge('web.example.com', 'tok-big', 'F3');
    assert.ok(file);
    await nginx.writeFile(file.path, 'x'.repeat(200 * 1024));
    const result = await checkHttpFile(dns, clock, file, { port: nginx.port, maxBytes: 1024 });
    assert.equal(result.reason, 'WRONG_CONTENT');
    assert.match(result.message, /more than 1024 bytes/);
  });

  await t.test('HTTP file: a missing file is HTTP_STATUS with the status', async () => {
    const file = fileChallenge('web.example.com', 'tok', 'NOT-THERE');
    assert.ok(file);
    const result = await checkHttpFile(dns, clock, file, { port: nginx.port });
    assert.equal(result.reason, 'HTTP_STATUS');
    assert.match(result.message, /404/);
  });

  await t.test('HTTP file: a redirect is not followed', async () => {
    await nginx.writeFile('/.well-known/pki-validation/dir/x.txt', 'tok');
    const result = await checkHttpFile(dns, clock, { url: 'http://web.example.com/.well-known/pki-validation/dir', content: 'tok' }, { port: nginx.port });
    assert.equal(result.reason, 'HTTP_STATUS');
    assert.match(result.message, /301/);
    assert.match(result.message, /redirect/);
  });

  await t.test('HTTP file: a name without an address record is NO_ADDRESS', async () => {
    await bind.addRecord('noaddr.example.com', 'TXT', 'no address here');
    const file = fileChallenge('noaddr.example.com', 'tok', 'F4');
    assert.ok(file);
    const result = await checkHttpFile(dns, clock, file, { port: nginx.port });
    assert.equal(result.reason, 'NO_ADDRESS');
    assert.match(result.message, /noaddr\.example\.com/);
  });

  await t.test('HTTP file: a port nobody listens on is CONNECTION_FAILED', async () => {
    const file = fileChallenge('web.example.com', 'tok', 'F5');
    assert.ok(file);
    const port = await freePort();
    const result = await checkHttpFile(dns, clock, file, { port, timeoutMs: 2000 });
    assert.equal(result.reason, 'CONNECTION_FAILED');
    assert.match(result.message, new RegExp(`port ${port}`));
  });

  await t.test('HTTP file: an IP literal host is fetched without any DNS lookup', async () => {
    const file = fileChallenge('127.0.0.1', 'tok-ip', 'F6');
    assert.ok(file);
    await nginx.writeFile(file.path, file.content);
    const noDns = createDnsClient({ servers: [`127.0.0.1:${await freePort()}`], timeoutMs: 200, tries: 1 });
    const result = await checkHttpFile(noDns, clock, file, { port: nginx.port });
    assert.equal(result.ok, true, result.message);
  });
});

test('a DNS server that does not answer fails quickly and CAA fails closed', async (t) => {
  const clock = new ManualClock(new Date('2026-03-01T08:00:00Z'));

  await t.test('nobody listens on the port: DNS_ERROR', async () => {
    const dead = createDnsClient({ servers: [`127.0.0.1:${await freePort()}`], timeoutMs: 300, tries: 1 });
    const started = Date.now();
    const result = await checkDnsTxt(dead, clock, { name: '_dnsauth.example.com', value: 'tok' });
    assert.ok(result.reason === 'DNS_ERROR' || result.reason === 'TIMEOUT', result.reason);
    assert.ok(Date.now() - started < 2000);
    const caa = await checkCaa(dead, 'www.example.com', us);
    assert.equal(caa.allowed, false);
    assert.match(caa.reason, /failed/);
  });

  await t.test('a server that swallows queries: TIMEOUT', async (t) => {
    const silent = createSocket('udp4');
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => silent.close());
    const dns = createDnsClient({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 300, tries: 1 });
    const started = Date.now();
    const result = await checkDnsTxt(dns, clock, { name: '_dnsauth.example.com', value: 'tok' });
    assert.equal(result.reason, 'TIMEOUT');
    assert.ok(Date.now() - started < 2000);
    const caa = await checkCaa(dns, 'www.example.com', us);
    assert.equal(caa.allowed, false);
    assert.match(caa.reason, /www\.example\.com/);
  });
});
