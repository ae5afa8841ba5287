import { isIPv6 } from 'node:net';

/** The label under which the DNS TXT challenge is published (BR 3.2.2.4.7 lets the CA choose it). */
export const DNS_LABEL = '_dnsauth';

const FILE_DIRECTORY = '/.well-known/pki-validation/';

export interface DnsChallenge {
  name: string;
  type: 'TXT';
  value: string;
}

export interface FileChallenge {
  url: string;
  path: string;
  content: string;
}

/** `domain` is ASCII (IDNs already in punycode); a trailing dot and letter case are normalized. */
function normalize(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The TXT record that proves control of `domain`; a wildcard is proven at its base domain. */
export function dnsChallenge(domain: string, token: string): DnsChallenge {
  const base = normalize(domain).replace(/^\*\./, '');
  return { name: `${DNS_LABEL}.${base}`, type: 'TXT', value: token };
}

/**
 * The file that proves control of `domain` over plain HTTP (BR 3.2.2.4.18).
 * Null for a wildcard: serving a file on one host cannot prove control of all
 * of them. `fileName` is made by the caller from safe characters.
 */
export function fileChallenge(domain: string, token: string, fileName: string): FileChallenge | null {
  const host = normalize(domain).replace(/^\[(.*)\]$/, '$1');
  if (host.startsWith('*.')) return null;
  const path = `${FILE_DIRECTORY}${fileName}.txt`;
  const authority = isIPv6(host) ? `[${host}]` : host;
  return { url: `http://${authority}${path}`, path, content: token };
}
