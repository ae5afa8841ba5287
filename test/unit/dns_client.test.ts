import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDnsClient } from '../../src/va/dns_client.js';

test('a malformed DNS server address is refused when the client is made', () => {
  assert.throws(() => createDnsClient({ servers: ['dns.example.com:53'] }), { code: 'DNS_SERVERS_INVALID' });
  assert.throws(() => createDnsClient({ servers: ['127.0.0.1', '::1]:53'] }), { code: 'DNS_SERVERS_INVALID' });
});

test('IPv4, IPv4:port and [IPv6]:port server addresses are accepted', () => {
  assert.doesNotThrow(() => createDnsClient({ servers: ['127.0.0.1', '127.0.0.1:5353', '[::1]:5353', '::1'] }));
  assert.doesNotThrow(() => createDnsClient({ servers: [] }));
});
