import type { Clock } from '../clock.js';
import { failedCheck, passedCheck, type CheckResult } from './check_result.js';
import type { DnsClient } from './dns_client.js';

/**
 * DNS TXT domain control check (BR 3.2.2.4.7): passes when any TXT record at
 * `record.name`, its chunks joined, equals `record.value` (surrounding
 * whitespace ignored).
 */
export async function checkDnsTxt(dns: DnsClient, clock: Clock, record: { name: string; value: string }): Promise<CheckResult> {
  const { name } = record;
  const expected = record.value.trim();
  const howToFix = `Add a TXT record named ${name} with the value "${expected}" at your DNS provider, then check again.`;
  const answer = await dns.txt(name);

  if (!answer.ok && answer.rcode !== 'NODATA') {
    if (answer.rcode === 'NXDOMAIN') {
      return failedCheck(clock, 'dns', expected, [], 'NXDOMAIN', `The name ${name} does not exist in DNS. ${howToFix}`);
    }
    const reason = answer.rcode === 'TIMEOUT' ? 'TIMEOUT' : 'DNS_ERROR';
    return failedCheck(
      clock,
      'dns',
      expected,
      [],
      reason,
      `Looking up the TXT record at ${name} failed: ${answer.detail}. Check that the name servers of your domain answer for this name, then check again.`,
    );
  }

  const found = answer.ok ? answer.records.map((chunks) => chunks.join('')) : [];
  if (found.length === 0) {
    return failedCheck(clock, 'dns', expected, [], 'NO_RECORD', `The name ${name} exists but has no TXT record. ${howToFix}`);
  }
  if (found.some((text) => text.trim() === expected)) {
    return passedCheck(clock, 'dns', expected, found, `Found the TXT record at ${name} with the expected value "${expected}".`);
  }
  const listed = found.map((text) => JSON.stringify(text)).join(', ');
  return failedCheck(
    clock,
    'dns',
    expected,
    found,
    'WRONG_VALUE',
    `The TXT records at ${name} are ${listed}, but none is the expected "${expected}". ${howToFix} Other TXT records at that name may stay.`,
  );
}
