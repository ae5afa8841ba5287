/**
 * Which names an application may bind: parsing the user's list, normalizing
 * each name (IDN, case, IP literals), refusing names no public CA may certify,
 * and fitting the list to the quota of the purchased instance(s). Pure; no I/O.
 */
import { BlockList, isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { getDomain, parse } from 'tldts';
import { CertdeskError, badRequest } from '../errors.js';

export type DomainType = 'single' | 'wildcard' | 'multi';

/** How many names an application may bind. */
export interface NameQuota {
  /** How many wildcard names (`*.example.com`) may be bound. */
  wildcard: number;
  /** How many non-wildcard names (domains and IP addresses) may be bound. */
  plain: number;
}

export interface BoundName {
  /** ASCII lowercase A-label form (`*.` kept for wildcards), or the canonical IP address. */
  name: string;
  /** Unicode form for internationalized names, otherwise the same as `name`. */
  display: string;
  kind: 'dns' | 'wildcard' | 'ip';
}

/**
 * The names a set of instances may bind together. A single instance gives its
 * own quota; combining instances (OV/EV only; the caller enforces that) sums
 * them, which is how a multi-domain wildcard or a hybrid certificate is made.
 */
export function quotaFor(instances: readonly { domainType: DomainType; domainCount: number }[]): NameQuota {
  let wildcard = 0;
  let plain = 0;
  for (const { domainType, domainCount } of instances) {
    if (domainType === 'single') plain += 1;
    else if (domainType === 'wildcard') wildcard += 1;
    else {
      if (!Number.isInteger(domainCount) || domainCount < 1) {
        throw new RangeError(`a multi-domain instance needs a positive integer domainCount, got ${domainCount}`);
      }
      plain += domainCount;
    }
  }
  return { wildcard, plain };
}

interface NameEntry {
  raw: string;
  field: string;
}

/**
 * Splits the user's input into entries with the request field each came from.
 * An array keeps its own indexes (`domains[i]`, even when an element holds
 * several names); a single string is numbered by the names found in it.
 */
function nameEntries(input: string | readonly string[]): NameEntry[] {
  if (typeof input === 'string') {
    return splitNames(input).map((raw, i) => ({ raw, field: `domains[${i}]` }));
  }
  if (!Array.isArray(input)) {
    throw badRequest('DOMAIN_INVALID', 'Enter the domains as a list, or as text with one domain per line.', 'domains');
  }
  return input.flatMap((element: unknown, i) => {
    const field = `domains[${i}]`;
    if (typeof element !== 'string') {
      throw badRequest('DOMAIN_INVALID', `${field} must be a domain name written as text, like www.example.com.`, field);
    }
    // An array holds one name per element: a space inside one is a typo to report, not a separator.
    const raw = element.trim();
    return raw === '' ? [] : [{ raw, field }];
  });
}

/** Names are separated by line breaks (the console's text box), commas or spaces. */
function splitNames(text: string): string[] {
  return text.split(/[\s,]+/).filter((part) => part !== '');
}

/** The names in the user's input: an array, or one string with one name per line (commas and spaces also separate). */
export function parseNameList(input: string | string[]): string[] {
  return nameEntries(input).map((entry) => entry.raw);
}

const BARE_DOMAIN_HINT = 'enter a bare domain like www.example.com, without scheme, path or port';

function invalid(field: string, message: string): CertdeskError {
  return badRequest('DOMAIN_INVALID', message, field);
}

/** The IP address an input spells (brackets around IPv6 allowed), or null. Zone ids (`fe80::1%eth0`) are not addresses. */
function ipLiteral(input: string): string | null {
  const candidate = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  return isIP(candidate) !== 0 && !candidate.includes('%') ? candidate : null;
}

interface NonPublicRange {
  cidr: string;
  reason: string;
  list: BlockList;
}

function range(address: string, prefix: number, reason: string): NonPublicRange {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { cidr: `${address}/${prefix}`, reason, list };
}

/**
 * Addresses that are not globally reachable (IANA IPv4/IPv6 special-purpose
 * registries, RFC 6890 and successors). A CA may only certify public addresses.
 */
const NON_PUBLIC_V4 = [
  range('0.0.0.0', 8, '"this network"'),
  range('10.0.0.0', 8, 'private'),
  range('100.64.0.0', 10, 'carrier-grade NAT (shared)'),
  range('127.0.0.0', 8, 'loopback'),
  range('169.254.0.0', 16, 'link-local'),
  range('172.16.0.0', 12, 'private'),
  range('192.0.0.0', 24, 'IETF protocol assignment'),
  range('192.0.2.0', 24, 'documentation'),
  range('192.88.99.0', 24, 'reserved (6to4 relay)'),
  range('192.168.0.0', 16, 'private'),
  range('198.18.0.0', 15, 'benchmarking'),
  range('198.51.100.0', 24, 'documentation'),
  range('203.0.113.0', 24, 'documentation'),
  range('224.0.0.0', 4, 'multicast'),
  range('240.0.0.0', 4, 'reserved'),
];

const NON_PUBLIC_V6 = [
  range('::', 128, 'unspecified'),
  range('::1', 128, 'loopback'),
  range('::ffff:0:0', 96, 'IPv4-mapped'),
  range('64:ff9b::', 96, 'NAT64 translation'),
  range('64:ff9b:1::', 48, 'NAT64 translation'),
  range('100::', 64, 'discard-only'),
  range('2001::', 23, 'IETF protocol assignment'),
  range('2001:db8::', 32, 'documentation'),
  range('2002::', 16, '6to4 transition'),
  range('3fff::', 20, 'documentation'),
  range('fc00::', 7, 'unique local (private)'),
  range('fe80::', 10, 'link-local'),
  range('fec0::', 10, 'site-local (deprecated)'),
  range('ff00::', 8, 'multicast'),
];

/** Everything outside IPv6 global unicast that the list above does not name is reserved too. */
const GLOBAL_UNICAST_V6 = range('2000::', 3, 'global unicast');

function normalizeIp(input: string, address: string, field: string): BoundName {
  const v6 = isIP(address) === 6;
  // The WHATWG URL serializer writes IPv6 in the RFC 5952 canonical form (compressed, lowercase).
  const name = v6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
  const family = v6 ? 'ipv6' : 'ipv4';
  const refuse = (reason: string, cidr: string): CertdeskError =>
    badRequest(
      'IP_NOT_PUBLIC',
      `${input} is in the ${reason} range (${cidr}); a certificate can only bind a public IP address.`,
      field,
    );
  const hit = (v6 ? NON_PUBLIC_V6 : NON_PUBLIC_V4).find((r) => r.list.check(name, family));
  if (hit) throw refuse(hit.reason, hit.cidr);
  if (v6 && !GLOBAL_UNICAST_V6.list.check(name, family)) throw refuse('reserved', 'not in global unicast 2000::/3');
  return { name, display: name, kind: 'ip' };
}

/** ASCII characters a host name cannot contain; Unicode letters are left to IDNA. */
const FORBIDDEN_ASCII = /[^A-Za-z0-9.\-\u{80}-\u{10FFFF}]/u;

/**
 * Top-level domains that are on the ICANN section of the Public Suffix List
 * but never certifiable: `.onion` (RFC 7686; needs the special BR Appendix C
 * process) and `.arpa` (infrastructure, reverse DNS). The RFC 2606 names
 * example.com/.net/.org are deliberately accepted: they are ordinary ICANN
 * names, and tests and lab setups serve them from their own DNS.
 */
const NON_PUBLIC_TLDS = new Set(['onion', 'arpa']);

function checkCharacters(text: string, input: string, field: string): void {
  const bad = FORBIDDEN_ASCII.exec(text)?.[0];
  if (bad === undefined) return;
  if (bad === '_') {
    throw invalid(field, `"${input}" contains an underscore; underscores are not allowed in certificate names (letters, digits and hyphens only).`);
  }
  throw invalid(field, `"${visible(input)}" contains ${describeCharacter(bad)}; a domain name can only contain letters, digits, hyphens and dots.`);
}

const CONTROL = /[\u0000-\u001f\u007f]/g;
const codePoint = (c: string) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Control characters written as <U+XXXX>, so a message shows what was typed even where they print as nothing. */
function visible(text: string): string {
  return text.replace(CONTROL, (c) => `<${codePoint(c)}>`);
}

function describeCharacter(c: string): string {
  return new RegExp(CONTROL.source).test(c) ? `the control character ${codePoint(c)}` : `"${c}"`;
}

function checkLabels(fullName: string, ascii: string, input: string, field: string): void {
  if (fullName.length > 253) {
    throw invalid(field, `"${input}" is ${fullName.length} characters long; a domain name can have at most 253.`);
  }
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label === '') {
      throw invalid(field, `"${input}" has an empty label (two dots in a row, or a leading dot); ${BARE_DOMAIN_HINT}.`);
    }
    if (label.length > 63) {
      throw invalid(field, `"${input}" has a label of ${label.length} characters; each dot-separated part can have at most 63.`);
    }
    // Again after IDNA, which maps some Unicode characters to ASCII ones (a fullwidth low line to "_").
    checkCharacters(label, input, field);
    if (label.startsWith('-') || label.endsWith('-')) {
      throw invalid(field, `"${input}" has a label that starts or ends with a hyphen ("${label}"); hyphens are only allowed inside a label.`);
    }
  }
  checkTopLabel(ascii, input, field);
}

function checkTopLabel(name: string, input: string, field: string): void {
  if (/(^|\.)[0-9]+$/.test(name)) {
    throw invalid(
      field,
      `"${input}" ends in an all-numeric label, which no top-level domain is; write an IPv4 address as four decimal numbers like 8.8.8.8.`,
    );
  }
}

/**
 * Refuses names no public CA can validate. Plain names are judged against the
 * ICANN section of the Public Suffix List only, so `github.io` itself (a real
 * host under `.io`) is accepted. Wildcards are judged against ICANN *and*
 * private suffixes, so `*.github.io` or `*.s3.amazonaws.com` (which would
 * cover other people's sites) are refused like `*.com` and `*.co.uk`.
 */
function checkPublicSuffix(base: string, wildcard: boolean, input: string, field: string): void {
  const icann = parse(base, { allowPrivateDomains: false });
  const tld = base.slice(base.lastIndexOf('.') + 1);
  if (icann.isIcann !== true || NON_PUBLIC_TLDS.has(tld)) {
    throw badRequest(
      'DOMAIN_NOT_PUBLIC',
      `"${input}" is not under a public top-level domain (".${tld}" is internal or reserved), so it cannot be validated; enter a domain you own under a public TLD.`,
      field,
    );
  }
  if (wildcard) {
    if (parse(base, { allowPrivateDomains: true }).domain === null) {
      throw badRequest(
        'WILDCARD_ON_PUBLIC_SUFFIX',
        `"${input}" would cover every domain under the public suffix "${base}"; a wildcard must sit on a domain you own, like *.example.com.`,
        field,
      );
    }
  } else if (icann.domain === null) {
    throw badRequest(
      'DOMAIN_IS_PUBLIC_SUFFIX',
      `"${input}" is a public suffix, not a domain anyone owns; enter a domain you registered, like example.${base}.`,
      field,
    );
  }
}

function normalizeDomain(input: string, field: string): BoundName {
  const withoutRoot = input.endsWith('.') ? input.slice(0, -1) : input;
  const wildcard = withoutRoot.startsWith('*.');
  const base = wildcard ? withoutRoot.slice(2) : withoutRoot;
  if (wildcard && ipLiteral(base) !== null) {
    throw badRequest('WILDCARD_IP', `"${input}" puts a wildcard on an IP address; wildcards only apply to domain names, like *.example.com.`, field);
  }
  if (base.includes(':')) throw invalid(field, `"${input}" contains ":" (a scheme or port?); ${BARE_DOMAIN_HINT}.`);
  if (base.includes('*')) {
    throw invalid(field, `"${input}" has "*" in the wrong place; a wildcard must be the whole left-most label, like *.example.com.`);
  }
  if (base === '') throw invalid(field, `"${input}" has no domain name; ${BARE_DOMAIN_HINT}.`);
  // Checked before IDNA, which would percent-decode or silently drop some characters.
  checkCharacters(base, input, field);
  // Also before IDNA, which reads names like 1.2.3 or 010.1.1.1 as (octal) IPv4 or fails on example.123.
  checkTopLabel(base, input, field);
  const ascii = domainToASCII(base);
  if (ascii === '') {
    throw invalid(field, `"${input}" is not a valid domain name (an internationalized label cannot be converted); check its spelling.`);
  }
  const prefix = wildcard ? '*.' : '';
  checkLabels(prefix + ascii, ascii, input, field);
  checkPublicSuffix(ascii, wildcard, input, field);
  return { name: prefix + ascii, display: prefix + domainToUnicode(ascii), kind: wildcard ? 'wildcard' : 'dns' };
}

/**
 * One name as the user typed it → its canonical form, or a CertdeskError for
 * `field` (DOMAIN_INVALID, DOMAIN_NOT_PUBLIC, DOMAIN_IS_PUBLIC_SUFFIX,
 * WILDCARD_ON_PUBLIC_SUFFIX, WILDCARD_IP, IP_NOT_PUBLIC).
 */
export function normalizeName(raw: string, field: string): BoundName {
  const input = typeof raw === 'string' ? raw.trim() : '';
  if (input === '') throw invalid(field, `The domain name is empty; ${BARE_DOMAIN_HINT}.`);
  if (/[/\\?#@]/.test(input)) throw invalid(field, `"${input}" looks like a URL or an email address; ${BARE_DOMAIN_HINT}.`);
  if (input.includes('%') && isIP(input) === 6) {
    throw invalid(field, `"${input}" has an IPv6 zone id; enter the address without the "%" part.`);
  }
  const ip = ipLiteral(input);
  if (ip !== null) return normalizeIp(input, ip, field);
  return normalizeDomain(input, field);
}

interface CheckedName {
  name: BoundName;
  field: string;
}

/** The first error, carrying every per-name error in `details.errors` so a form can mark them all. */
function firstOfAll(errors: readonly CertdeskError[]): CertdeskError {
  const first = errors[0]!;
  return new CertdeskError(first.code, first.message, {
    status: first.status,
    field: first.field,
    details: { errors: errors.map((e) => ({ field: e.field, code: e.code, message: e.message })) },
  });
}

function checkQuota(names: readonly CheckedName[], quota: NameQuota): void {
  const wildcards = names.filter((n) => n.name.kind === 'wildcard');
  const plain = names.filter((n) => n.name.kind !== 'wildcard');
  const kind = quota.plain > 1 ? `a ${quota.plain}-domain multi-domain` : 'a single-domain';
  if (wildcards.length > 0 && quota.wildcard === 0) {
    throw badRequest(
      'WILDCARD_NOT_ALLOWED',
      `This instance is ${kind} certificate and cannot bind the wildcard "${wildcards[0]!.name.display}"; buy a wildcard instance, or combine this one with a wildcard instance (OV/EV).`,
      wildcards[0]!.field,
    );
  }
  if (wildcards.length > quota.wildcard) {
    throw badRequest(
      'TOO_MANY_WILDCARDS',
      `This application covers ${quota.wildcard} wildcard name(s); you entered ${wildcards.length}. Remove some, or combine more wildcard instances (OV/EV).`,
      wildcards[quota.wildcard]!.field,
    );
  }
  if (plain.length > 0 && quota.plain === 0 && quota.wildcard > 0) {
    throw badRequest(
      'TOO_MANY_DOMAINS',
      `A wildcard certificate takes exactly one name like *.example.com; remove "${plain[0]!.name.display}", or combine with a single-domain or multi-domain instance (OV/EV).`,
      plain[0]!.field,
    );
  }
  if (plain.length > quota.plain) {
    throw badRequest(
      'TOO_MANY_DOMAINS',
      `This instance covers ${quota.plain} domain(s); you entered ${plain.length}. Remove some, or buy a multi-domain instance with more domains.`,
      plain[quota.plain]!.field,
    );
  }
}

/**
 * Validates the names of an application against the quota. Per-name errors
 * are collected and the first is thrown (with all of them in
 * `details.errors`); then DOMAINS_REQUIRED, DOMAIN_DUPLICATE and the quota
 * errors WILDCARD_NOT_ALLOWED, TOO_MANY_WILDCARDS, TOO_MANY_DOMAINS.
 * IP addresses count as plain names and need `allowIp` (default false:
 * IP_NOT_ALLOWED).
 *
 * Commercial CAs commonly let a single-domain certificate for www.example.com
 * also secure example.com. That is a product decision for the caller; nothing
 * here adds the extra name implicitly.
 */
export function checkNames(input: string | string[], quota: NameQuota, options: { allowIp?: boolean } = {}): BoundName[] {
  const names: CheckedName[] = [];
  const errors: CertdeskError[] = [];
  for (const { raw, field } of nameEntries(input)) {
    try {
      if (options.allowIp !== true && ipLiteral(raw) !== null) {
        throw badRequest('IP_NOT_ALLOWED', `"${raw}" is an IP address; this certificate product binds domain names only.`, field);
      }
      names.push({ name: normalizeName(raw, field), field });
    } catch (err) {
      if (!(err instanceof CertdeskError)) throw err;
      errors.push(err);
    }
  }
  if (errors.length > 0) throw firstOfAll(errors);
  if (names.length === 0) {
    throw badRequest('DOMAINS_REQUIRED', 'Enter at least one domain to bind, like www.example.com (one per line).', 'domains');
  }
  const seen = new Map<string, string>();
  for (const { name, field } of names) {
    const earlier = seen.get(name.name);
    if (earlier !== undefined) {
      throw badRequest('DOMAIN_DUPLICATE', `"${name.display}" is entered twice (${earlier} and ${field}); remove one.`, field);
    }
    seen.set(name.name, field);
  }
  checkQuota(names, quota);
  return names.map((n) => n.name);
}

/**
 * The registrable domain a name belongs to (wildcard stripped), for rate
 * limits and CAA: the Public Suffix List including its private section, so
 * tenants of github.io count apart; a name that is itself a private suffix
 * (github.io) counts as its own. Null for IP addresses and public suffixes.
 */
export function registeredDomain(name: string): string | null {
  const host = name.startsWith('*.') ? name.slice(2) : name;
  if (ipLiteral(host) !== null) return null;
  return getDomain(host, { allowPrivateDomains: true }) ?? getDomain(host, { allowPrivateDomains: false });
}
