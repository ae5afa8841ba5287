import { isIP } from 'node:net';
import type { CaaRecord, DnsClient } from './dns_client.js';

export interface CaaRequest {
  /** Our CA's issuer domain names as customers write them in CAA, e.g. ['certdesk.local']. */
  identities: string[];
  wildcard: boolean;
}

export interface CaaDecision {
  allowed: boolean;
  reason: string;
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
  const match = relevant.find((r) => identities.includes(issuerDomain(r.value)));
  if (match) return { allowed: true, reason: `The CAA record ${present(match)} authorizes this CA.` };

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
  if (isIP(base)) return { allowed: true, reason: 'CAA does not apply to IP addresses.' };

  const levels = climb(base);
  const answers = await Promise.all(levels.map((domain) => dns.caa(domain)));
  for (const [i, domain] of levels.entries()) {
    const answer = answers[i] as (typeof answers)[number];
    if (!answer.ok) {
      if (answer.rcode === 'NXDOMAIN' || answer.rcode === 'NODATA') continue;
      return {
        allowed: false,
        reason: `Looking up CAA records for ${domain} failed: ${answer.detail}. CAA must be checked before issuing; make sure the name servers of ${domain} answer CAA queries (an empty answer is fine), then try again.`,
      };
    }
    if (answer.records.length === 0) continue;
    const decision = evaluateCaa(answer.records, { identities: request.identities, wildcard });
    return { ...decision, reason: `At ${domain}: ${decision.reason}`, relevantAt: domain };
  }
  return { allowed: true, reason: `No CAA records at ${base} or its parent domains, so any CA may issue.` };
}

/** `a.b.example.com` → a.b.example.com, b.example.com, example.com (the TLD is not asked). */
function climb(domain: string): string[] {
  const labels = domain.split('.');
  if (labels.length < 2) return [domain];
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
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
