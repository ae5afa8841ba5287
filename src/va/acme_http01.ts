import type { Clock } from '../clock.js';
import type { CheckResult } from './check_result.js';
import type { DnsClient } from './dns_client.js';
import { checkHttpFile } from './http_file.js';

/**
 * ACME http-01 (RFC 8555 §8.3): the key authorization served at
 * http://DOMAIN/.well-known/acme-challenge/TOKEN, checked the same way as the
 * HTTP file method (validation resolvers, no redirects, plain http on `port`).
 */
export function checkAcmeHttp01(dns: DnsClient, clock: Clock, challenge: { domain: string; token: string; keyAuthorization: string }, options: { port: number }): Promise<CheckResult> {
  const url = `http://${challenge.domain}/.well-known/acme-challenge/${challenge.token}`;
  return checkHttpFile(dns, clock, { url, content: challenge.keyAuthorization }, { port: options.port });
}
