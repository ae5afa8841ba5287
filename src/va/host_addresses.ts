import { isIP } from 'node:net';
import type { CheckFailureReason } from './check_result.js';
import type { DnsClient } from './dns_client.js';

export type HostAddresses = { ok: true; addresses: string[] } | { ok: false; reason: CheckFailureReason; problem: string };

/**
 * The addresses a validation connects to: an IP literal as is, a name through
 * the validation resolvers (never the OS resolver). `problem` says what is
 * wrong in DNS, for the caller to extend with how to fix it.
 */
export async function hostAddresses(dns: DnsClient, host: string): Promise<HostAddresses> {
  if (isIP(host)) return { ok: true, addresses: [host] };
  const answer = await dns.addresses(host);
  if (!answer.ok && answer.rcode === 'NXDOMAIN') {
    return { ok: false, reason: 'NXDOMAIN', problem: `The name ${host} does not exist in DNS. Add an A or AAAA record for ${host} pointing at your server.` };
  }
  if (!answer.ok && answer.rcode !== 'NODATA') {
    return {
      ok: false,
      reason: answer.rcode === 'TIMEOUT' ? 'TIMEOUT' : 'DNS_ERROR',
      problem: `Looking up the address of ${host} failed: ${answer.detail}. Check that the name servers of your domain answer for this name.`,
    };
  }
  const addresses = answer.ok ? answer.records : [];
  if (addresses.length === 0) {
    return { ok: false, reason: 'NO_ADDRESS', problem: `${host} has no A or AAAA record, so no server can be reached. Add an address record pointing at your server.` };
  }
  return { ok: true, addresses };
}
