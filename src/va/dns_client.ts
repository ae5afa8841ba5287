import { promises as dns, type CaaRecord as NodeCaaRecord } from 'node:dns';
import { CertdeskError } from '../errors.js';

/**
 * The outcome of one DNS lookup. A name that exists but has no record of the
 * asked type ("NODATA") is reported by `createDnsClient` as
 * `{ ok: true, records: [] }`, so `ok: false` with `NXDOMAIN` always means
 * "the name does not exist". The `NODATA` rcode stays in the type so other
 * DnsClient implementations may report it; the checks in src/va treat it the
 * same as an empty answer.
 */
export type DnsAnswer<T> =
  | { ok: true; records: T[] }
  | { ok: false; rcode: 'NXDOMAIN' | 'NODATA' | 'SERVFAIL' | 'TIMEOUT' | 'REFUSED' | 'ERROR'; detail: string };

/** One CAA record (RFC 8659 §4.1): flags byte, property tag as published, property value. */
export interface CaaRecord {
  flags: number;
  tag: string;
  value: string;
}

export interface DnsClient {
  /** TXT records; each record is the list of its character-strings (chunks), in order. */
  txt(name: string): Promise<DnsAnswer<string[]>>;
  caa(name: string): Promise<DnsAnswer<CaaRecord>>;
  /** IPv4 addresses (A) first, then IPv6 (AAAA). */
  addresses(name: string): Promise<DnsAnswer<string>>;
}

export interface DnsClientOptions {
  /** 'IP', 'IP:PORT' or '[v6]:PORT'. Empty = the resolvers from the system's resolv.conf (still queried directly, never through getaddrinfo). */
  servers: string[];
  /** Time to wait for one answer before the next try, in milliseconds. */
  timeoutMs?: number;
  /** How many times each server is asked before giving up. */
  tries?: number;
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_TRIES = 2;

export function createDnsClient(options: DnsClientOptions): DnsClient {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tries = options.tries ?? DEFAULT_TRIES;
  const servers = [...options.servers];
  checkServers(servers);

  // One resolver for the client's life: Node builds c-ares without its answer
  // cache, so a re-check after the customer fixed a record sees the new data
  // (va_dns_http.test.ts checks that with a one-hour TTL).
  const resolver = new dns.Resolver({ timeout, tries });
  if (servers.length > 0) resolver.setServers(servers);
  async function lookup<T>(name: string, query: (resolver: dns.Resolver) => Promise<T[]>): Promise<DnsAnswer<T>> {
    try {
      return { ok: true, records: await query(resolver) };
    } catch (error) {
      return fromResolverError(name, error);
    }
  }

  return {
    txt: (name) => lookup(name, (r) => r.resolveTxt(name)),
    caa: (name) => lookup(name, async (r) => (await r.resolveCaa(name)).map(toCaaRecord)),
    async addresses(name) {
      // Both asked at once; the answers are combined as if asked in turn.
      const [v4, v6] = await Promise.all([lookup(name, (r) => r.resolve4(name)), lookup(name, (r) => r.resolve6(name))]);
      if (!v4.ok) return v4;
      if (!v6.ok) return v4.records.length > 0 ? v4 : v6;
      return { ok: true, records: [...v4.records, ...v6.records] };
    },
  };
}

/** Fails at construction, not at the first lookup, when a configured server address is malformed. */
function checkServers(servers: string[]): void {
  if (servers.length === 0) return;
  try {
    new dns.Resolver().setServers(servers);
  } catch {
    throw new CertdeskError(
      'DNS_SERVERS_INVALID',
      `DNS servers ${JSON.stringify(servers)} are not valid; give each as 'IP', 'IP:PORT' or '[IPv6]:PORT'.`,
      { status: 500 },
    );
  }
}

/** node returns `{ critical: <flags byte>, <tag>: <value> }`; the tag is the one other key. */
function toCaaRecord(record: NodeCaaRecord): CaaRecord {
  const entries = Object.entries(record).filter(([key]) => key !== 'critical');
  const [tag, value] = entries[0] ?? ['', ''];
  return { flags: Number(record.critical) || 0, tag, value: String(value) };
}

function fromResolverError<T>(name: string, error: unknown): DnsAnswer<T> {
  const code = (error as { code?: string }).code ?? '';
  switch (code) {
    case 'ENODATA':
      return { ok: true, records: [] };
    case 'ENOTFOUND':
      return { ok: false, rcode: 'NXDOMAIN', detail: `${name} does not exist (NXDOMAIN)` };
    case 'ESERVFAIL':
      return { ok: false, rcode: 'SERVFAIL', detail: `the DNS server failed to answer for ${name} (SERVFAIL)` };
    case 'ETIMEOUT':
      return { ok: false, rcode: 'TIMEOUT', detail: `no answer from the DNS server for ${name} in time` };
    case 'EREFUSED':
      return { ok: false, rcode: 'REFUSED', detail: `the DNS server refused to answer for ${name} (REFUSED)` };
    case 'ECONNREFUSED':
      return { ok: false, rcode: 'ERROR', detail: `could not reach the DNS server to look up ${name} (connection refused)` };
    case 'EBADNAME':
      return { ok: false, rcode: 'ERROR', detail: `${JSON.stringify(name)} is not a valid DNS name` };
    default:
      return { ok: false, rcode: 'ERROR', detail: `DNS lookup of ${name} failed (${code || String(error)})` };
  }
}
