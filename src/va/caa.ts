import { isIP } from 'node:net';
import type { CaaRecord, DnsClient } from './dns_client.js';

export interface CaaRequest {
  /** Our CA's issuer domain names as customers write them in CAA, e.g. ['certdesk.local']. */
  identities: string[];
  wildcard: boolean;
  /**
   * RFC 8657 accounturi: the URL of the ACME account asking. Requests through
   * the REST API or the console have none, so a property limited to an
   * account never authorizes them.
   */
  accountUri?: string;
  /**
   * RFC 8657 validationmethods: the methods that proved the name, or that may
   * still prove it: ACME challenge types, or the labels of certdesk's own
   * methods (DCV_METHOD_LABELS).
   */
  methods: readonly string[];
}

/** RFC 8657 labels of the domain control methods of the REST API and console, which are not ACME challenges ("ca-" names are the CA's own). */
export const DCV_METHOD_LABELS = { dns: 'ca-dns-txt', http: 'ca-http-file' } as const;

export interface CaaDecision {
  allowed: boolean;
  reason: string;
  /** Refused although a record names this CA: its accounturi or validationmethods did not fit the request. */
  namesThisCa?: boolean;
}

/**
 * Tags whose meaning we know, so a critical flag on them does not block
 * issuance: RFC 8659 (issue, issuewild, iodef), RFC 9495 (issuemail) and the
 * CA/B Forum contact tags. None but issue/issuewild restrict TLS issuance.
 */
const KNOWN_TAGS = new Set(['issue', 'issuewild', 'iodef', 'issuemail', 'contactemail', 'contactphone']);
const CRITICAL_FLAG = 128;

/** RFC 8659 §4: decides whether the relevant CAA RRset lets one of `request.identities` issue. */
export function evaluateCaa(records: CaaRecord[], request: CaaRequest): CaaDecision {
  if (records.length === 0) return { allowed: true, reason: 'No CAA records apply, so any CA may issue.' };

  const unknownCritical = records.find((r) => (r.flags & CRITICAL_FLAG) !== 0 && !KNOWN_TAGS.has(r.tag.toLowerCase()));
  if (unknownCritical) {
    return {
      allowed: false,
      reason: `The CAA record ${present(unknownCritical)} is marked critical and its tag "${unknownCritical.tag}" is unknown to this CA, which must then not issue. Remove that record or clear its critical flag (128).`,
    };
  }

  const withTag = (tag: string) => records.filter((r) => r.tag.toLowerCase() === tag);
  const issuewild = withTag('issuewild');
  const [tag, relevant] = request.wildcard && issuewild.length > 0 ? ['issuewild', issuewild] : ['issue', withTag('issue')];
  if (relevant.length === 0) {
    return { allowed: true, reason: `The CAA records do not restrict issuance (no ${request.wildcard ? 'issue or issuewild' : 'issue'} property), so any CA may issue.` };
  }

  const identities = request.identities.map(normalizeDomain);
  const ours = relevant.filter((r) => identities.includes(issuerDomain(r.value)));
  const limits = ours.map((r) => parameterProblem(r.value, request));
  const match = ours.find((_, i) => limits[i] === null);
  if (match) return { allowed: true, reason: `The CAA record ${present(match)} authorizes this CA.` };
  if (ours.length > 0) {
    return {
      allowed: false,
      reason: `The CAA ${tag} records name this CA but do not authorize this request: ${ours.map((r, i) => `${present(r)} ${limits[i]}`).join('; ')}. Change the records, or make the request they allow.`,
      namesThisCa: true,
    };
  }

  const allowedIssuers = relevant.map((r) => issuerDomain(r.value)).filter((issuer) => issuer !== '');
  const whoMay = allowedIssuers.length > 0 ? `only ${[...new Set(allowedIssuers)].join(', ')} to issue` : 'no CA to issue';
  const kind = tag === 'issuewild' ? 'wildcard certificates' : request.wildcard ? 'certificates (including wildcards)' : 'certificates';
  return {
    allowed: false,
    reason: `The CAA ${tag} records ${relevant.map(present).join(', ')} allow ${whoMay} ${kind}. Add a CAA record 0 ${tag} "${request.identities[0] ?? ''}" to allow this CA.`,
  };
}

export interface CaaCheck extends CaaDecision {
  /** The domain where the relevant (first non-empty) CAA RRset was found. */
  relevantAt?: string;
  /** Which of the request's methods would each be allowed on their own (an ACME order offers only those challenges). */
  allowedMethods: readonly string[];
}

/**
 * RFC 8659 §3: looks up CAA at `name` (for `*.x` at `x`) and climbs to the
 * parent until a non-empty RRset, stopping below the top-level domain. A
 * lookup failure other than "name does not exist" or "no CAA records" fails
 * closed. Every level is asked at once (one round trip instead of one per
 * label); the answers are then read from the name upwards, so answers above
 * the first relevant RRset or failure are ignored, as if never asked.
 */
export async function checkCaa(dns: DnsClient, name: string, request: CaaRequest): Promise<CaaCheck> {
  const normalized = normalizeDomain(name);
  const wildcard = request.wildcard || normalized.startsWith('*.');
  const base = normalized.replace(/^\*\./, '');
  if (isIP(base)) return { allowed: true, reason: 'CAA does not apply to IP addresses.', allowedMethods: request.methods };

  const levels = climb(base);
  const answers = await Promise.all(levels.map((domain) => dns.caa(domain)));
  for (const [i, domain] of levels.entries()) {
    const answer = answers[i] as (typeof answers)[number];
    if (!answer.ok) {
      if (answer.rcode === 'NXDOMAIN' || answer.rcode === 'NODATA') continue;
      return {
        allowed: false,
        reason: `Looking up CAA records for ${domain} failed: ${answer.detail}. CAA must be checked before issuing; make sure the name servers of ${domain} answer CAA queries (an empty answer is fine), then try again.`,
        allowedMethods: [],
      };
    }
    if (answer.records.length === 0) continue;
    const decision = evaluateCaa(answer.records, { ...request, wildcard });
    const allowedMethods = request.methods.filter((method) => evaluateCaa(answer.records, { ...request, wildcard, methods: [method] }).allowed);
    return { ...decision, reason: `At ${domain}: ${decision.reason}`, relevantAt: domain, allowedMethods };
  }
  return { allowed: true, reason: `No CAA records at ${base} or its parent domains, so any CA may issue.`, allowedMethods: request.methods };
}

/** `a.b.example.com` → a.b.example.com, b.example.com, example.com (the TLD is not asked). */
function climb(domain: string): string[] {
  const labels = domain.split('.');
  if (labels.length < 2) return [domain];
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
}

/**
 * Why the parameters of an issue/issuewild value naming this CA do not
 * authorize the request (RFC 8657), or null when they do. Parameters this CA
 * does not know are ignored; a parameter it cannot read authorizes nothing.
 */
function parameterProblem(value: string, request: CaaRequest): string | null {
  for (const parameter of value.split(';').slice(1).map((p) => p.trim()).filter((p) => p !== '')) {
    const equals = parameter.indexOf('=');
    const tag = parameter.slice(0, Math.max(equals, 0)).trim().toLowerCase();
    const given = parameter.slice(equals + 1).trim();
    if (equals <= 0 || given === '') return `has the parameter "${parameter}", which is not tag=value, so it authorizes nothing`;
    if (tag === 'accounturi' && given !== request.accountUri) {
      return request.accountUri
        ? `authorizes only the ACME account ${given}, and this order comes from ${request.accountUri}`
        : `authorizes only the ACME account ${given}; a request through the REST API or the console has no ACME account`;
    }
    if (tag === 'validationmethods') {
      const allowed = given.split(',').map((m) => m.trim());
      if (allowed.some((m) => m === '')) return `has the parameter "${parameter}", whose list of methods has an empty entry, so it authorizes nothing`;
      if (!allowed.some((m) => request.methods.includes(m))) {
        return `allows only the validation methods ${allowed.join(', ')}, and the name was or can be proven only by ${request.methods.join(', ') || 'no method'}`;
      }
    }
  }
  return null;
}

/** The issuer domain of an issue/issuewild value: the part before any `;` parameters ('' for `;`). */
function issuerDomain(value: string): string {
  return normalizeDomain(value.split(';')[0] ?? '');
}

function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

function present(record: CaaRecord): string {
  return `${record.flags} ${record.tag} "${record.value}"`;
}
