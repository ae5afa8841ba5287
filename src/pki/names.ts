import { isIPv4, isIPv6 } from 'node:net';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { TAG, derNode, oidDer, type DerNode } from './der.js';

/** Subject attribute types certdesk writes and reads. */
export const ATTRIBUTE = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  businessCategory: '2.5.4.15',
  jurisdictionCountryName: '1.3.6.1.4.1.311.60.2.1.3',
} as const;

/** Short names for messages, as OpenSSL prints them. */
export const ATTRIBUTE_SHORT_NAMES: Record<string, string> = {
  [ATTRIBUTE.commonName]: 'CN',
  [ATTRIBUTE.serialNumber]: 'serialNumber',
  [ATTRIBUTE.countryName]: 'C',
  [ATTRIBUTE.localityName]: 'L',
  [ATTRIBUTE.stateOrProvinceName]: 'ST',
  [ATTRIBUTE.organizationName]: 'O',
  [ATTRIBUTE.businessCategory]: 'businessCategory',
  [ATTRIBUTE.jurisdictionCountryName]: 'jurisdictionC',
};

/** X.520 upper bound of commonName; longer DNS names stay in the SAN only. */
export const MAX_COMMON_NAME_LENGTH = 64;

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/** Types X.520 defines as PrintableString only. */
const PRINTABLE_ONLY = new Set<string>([ATTRIBUTE.countryName, ATTRIBUTE.jurisdictionCountryName]);

export interface NameAttribute {
  type: string;
  value: string;
}

/** PrintableString where X.520 requires it (or serialNumber's value allows it), else UTF8String. */
const isPrintableAttribute = (type: string, text: string): boolean =>
  PRINTABLE_ONLY.has(type) || (type === ATTRIBUTE.serialNumber && PRINTABLE.test(text));

/** A Name with one attribute per RDN, in the order given; PrintableString where the value allows, else UTF8String. */
export function buildName(attributes: [type: string, value: string][]): Name {
  return new Name(
    attributes.map(([type, text]) => {
      const value = isPrintableAttribute(type, text) ? new AttributeValue({ printableString: text }) : new AttributeValue({ utf8String: text });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);
    }),
  );
}

export const STRING_TAG = { utf8: 0x0c, printable: 0x13, ia5: 0x16 } as const;

/** An RDN holding the one attribute `type` with a string of `stringTag` whose content octets are `bytes`. */
export function singleAttributeRdn(type: string, stringTag: number, bytes: Uint8Array): DerNode {
  return derNode(0x31, derNode(TAG.sequence, oidDer(type), derNode(stringTag, bytes)));
}

/** buildName(attributes) as a DER tree, written directly: the leaf signing path builds one per certificate. */
export function nameNode(attributes: readonly NameAttribute[]): DerNode {
  const rdns: DerNode[] = [];
  for (const { type, value } of attributes) {
    // PrintableString content is one octet per character, as the schema writes it.
    rdns.push(
      isPrintableAttribute(type, value)
        ? singleAttributeRdn(type, STRING_TAG.printable, Buffer.from(value, 'latin1'))
        : singleAttributeRdn(type, STRING_TAG.utf8, Buffer.from(value, 'utf8')),
    );
  }
  return derNode(TAG.sequence, ...rdns);
}

export function nameAttributes(name: Name): NameAttribute[] {
  // Plain loops: Array methods on the schema's Array subclasses construct new schema objects.
  const attributes: NameAttribute[] = [];
  for (const rdn of name) for (const attribute of rdn) attributes.push({ type: attribute.type, value: attribute.value.toString() });
  return attributes;
}

function ipv6Groups(text: string): number[] | undefined {
  let body = text;
  const embedded: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return undefined;
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    embedded.push(a * 256 + b, c * 256 + d);
    body = text.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const left = parse(halves[0] ?? '');
  const right = [...parse(halves[1] ?? ''), ...embedded];
  const zeros = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (zeros < 0) return undefined;
  const groups = [...left, ...new Array<number>(zeros).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The 4 or 16 address bytes of a textual IPv4/IPv6 address; undefined when `text` is not one. */
export function ipToBytes(text: string): Buffer | undefined {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const groups = ipv6Groups(text);
  if (!groups) return undefined;
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}

/** Dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as ::, hex groups only). */
export function ipFromBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return undefined;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an IP address, or undefined when `text` is not an IP address. */
export function canonicalIp(text: string): string | undefined {
  const bytes = ipToBytes(text);
  return bytes && ipFromBytes(bytes);
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Names every check in dnsNameProblem accepts, recognised in one pass (the
 * common case on the signing path): an optional `*.`, then at least two
 * lowercase LDH labels of 1 to 63 characters, the last not all digits.
 * Anything else goes through the checks one by one, which name the problem.
 */
const PLAIN_DNS_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?![0-9]+$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` is not a valid certificate dNSName (lowercase LDH, optional leading `*.`), or undefined. */
export function dnsNameProblem(name: string): string | undefined {
  if (name.length <= 253 && PLAIN_DNS_NAME.test(name)) return undefined;
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  if (name !== name.toLowerCase()) return 'contains uppercase letters';
  if (name.includes('_')) return 'contains an underscore';
  const labels = name.split('.');
  if (labels[0] === '*') labels.shift();
  if (labels.some((label) => label.includes('*'))) return 'may use * only as the whole left-most label';
  if (name.startsWith('*.') && labels.length < 2) return 'is a wildcard that needs at least two labels after "*."';
  for (const label of labels) {
    if (label.length === 0) return 'has an empty label';
    if (label.length > 63) return `has the label "${label.slice(0, 20)}..." longer than 63 characters`;
    if (!LDH_LABEL.test(label)) return `has the label "${label}" that is not letters, digits and inner hyphens`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'ends in a numeric label';
  return undefined;
}
