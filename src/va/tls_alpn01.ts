import { createHash } from 'node:crypto';
import tls from 'node:tls';
import { AsnParser } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { Clock } from '../clock.js';
import { EXTENSION, extensionValue, readSubjectAltName } from '../pki/extensions.js';
import { failedCheck, passedCheck, type CheckResult } from './check_result.js';
import type { DnsClient } from './dns_client.js';
import { hostAddresses } from './host_addresses.js';

/** id-pe-acmeIdentifier (RFC 8737 §6.1). */
export const ACME_IDENTIFIER_OID = '1.3.6.1.5.5.7.1.31';
export const ACME_TLS_ALPN = 'acme-tls/1';
const DEFAULT_TIMEOUT_MS = 10_000;

type Handshake = { ok: true; alpn: string | false; certDer: Buffer | null } | { ok: false; detail: string };

/**
 * ACME tls-alpn-01 (RFC 8737): a TLS handshake to DOMAIN on `port` with SNI
 * DOMAIN and ALPN acme-tls/1 must negotiate acme-tls/1 and present a
 * certificate whose only subjectAltName is DOMAIN and which carries the
 * critical acmeIdentifier extension holding SHA-256(key authorization).
 */
export async function checkTlsAlpn01(
  dns: DnsClient,
  clock: Clock,
  challenge: { domain: string; keyAuthorization: string },
  options: { port: number; timeoutMs?: number },
): Promise<CheckResult> {
  const { domain } = challenge;
  const digest = createHash('sha256').update(challenge.keyAuthorization).digest();
  const expected = digest.toString('hex');
  const serveIt = `Answer TLS on port ${options.port} of ${domain} with ALPN "${ACME_TLS_ALPN}" and the validation certificate of RFC 8737, then try again.`;
  const resolved = await hostAddresses(dns, domain);
  if (!resolved.ok) return failedCheck(clock, 'tls-alpn', expected, [], resolved.reason, `${resolved.problem} ${serveIt}`);
  const failures: string[] = [];
  for (const address of resolved.addresses) {
    const shake = await handshake(address, domain, options);
    if (!shake.ok) {
      failures.push(`${address}: ${shake.detail}`);
      continue;
    }
    if (shake.alpn !== ACME_TLS_ALPN) {
      return failedCheck(clock, 'tls-alpn', expected, [], 'TLS_HANDSHAKE', `${domain} (at ${address}:${options.port}) did not negotiate ALPN "${ACME_TLS_ALPN}". ${serveIt}`);
    }
    const problem = shake.certDer ? certificateProblem(shake.certDer, domain, digest) : 'presented no certificate';
    if (problem) return failedCheck(clock, 'tls-alpn', expected, [], 'WRONG_CERTIFICATE', `The certificate from ${domain} (at ${address}:${options.port}) ${problem}. ${serveIt}`);
    return passedCheck(clock, 'tls-alpn', expected, [expected], `${domain} (at ${address}:${options.port}) presented the expected acme-tls/1 validation certificate.`);
  }
  return failedCheck(clock, 'tls-alpn', expected, [], 'CONNECTION_FAILED', `Could not complete a TLS handshake with ${domain} on port ${options.port} (${failures.join('; ')}). ${serveIt}`);
}

/** Why the validation certificate does not prove control of `domain`, or null when it does. */
export function certificateProblem(certDer: Buffer, domain: string, digest: Buffer): string | null {
  let cert: Certificate;
  try {
    cert = AsnParser.parse(certDer, Certificate);
  } catch {
    return 'cannot be parsed';
  }
  const extensions = cert.tbsCertificate.extensions ?? [];
  const san = extensions.find((e) => e.extnID === EXTENSION.subjectAltName);
  const names = san ? readSubjectAltName(san) : null;
  if (!names || names.dnsNames.length !== 1 || names.ipAddresses.length !== 0 || names.others !== 0 || names.dnsNames[0]?.toLowerCase() !== domain.toLowerCase()) {
    return `must name exactly ${domain} in its subjectAltName`;
  }
  const acme = extensions.find((e) => e.extnID === ACME_IDENTIFIER_OID);
  if (!acme) return 'lacks the acmeIdentifier extension (1.3.6.1.5.5.7.1.31)';
  if (!acme.critical) return 'has the acmeIdentifier extension but not marked critical';
  const value = Buffer.from(extensionValue(acme));
  // The extension value is the DER OCTET STRING of the 32-byte digest.
  const wanted = Buffer.concat([Buffer.from([0x04, 0x20]), digest]);
  if (!value.equals(wanted)) return 'carries an acmeIdentifier that is not SHA-256 of the key authorization';
  return null;
}

function handshake(address: string, servername: string, options: { port: number; timeoutMs?: number }): Promise<Handshake> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: Handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve(result);
    };
    const socket = tls.connect({ host: address, port: options.port, servername, ALPNProtocols: [ACME_TLS_ALPN], rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      settle({ ok: true, alpn: socket.alpnProtocol ?? false, certDer: cert ? Buffer.from(cert.raw) : null });
    });
    const deadline = setTimeout(() => settle({ ok: false, detail: 'no handshake in time' }), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    socket.on('error', (error) => settle({ ok: false, detail: error.message }));
  });
}
