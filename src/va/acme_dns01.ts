import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CheckResult } from './check_result.js';
import type { DnsClient } from './dns_client.js';
import { checkDnsTxt } from './dns_txt.js';

/** The TXT record of ACME dns-01 (RFC 8555 §8.4): at _acme-challenge.BASE, base64url(SHA-256(key authorization)). */
export function acmeDns01Record(domain: string, keyAuthorization: string): { name: string; value: string } {
  const base = domain.toLowerCase().replace(/\.$/, '').replace(/^\*\./, '');
  return { name: `_acme-challenge.${base}`, value: createHash('sha256').update(keyAuthorization).digest('base64url') };
}

/** ACME dns-01, checked like the DNS TXT method through the validation resolvers. */
export function checkAcmeDns01(dns: DnsClient, clock: Clock, challenge: { domain: string; keyAuthorization: string }): Promise<CheckResult> {
  return checkDnsTxt(dns, clock, acmeDns01Record(challenge.domain, challenge.keyAuthorization));
}
