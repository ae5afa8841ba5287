/**
 * The few DER primitives that are cheaper to write by hand than through the
 * schema serializer: outer SEQUENCE wrappers around already-encoded parts,
 * unsigned INTEGERs, and a reader that walks raw TLVs so original bytes (a
 * subject Name, an SPKI) can be kept exactly as they were signed.
 */

export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  sequence: 0x30,
  explicit0: 0xa0,
  explicit3: 0xa3,
} as const;

/**
 * A TLV to be written whose content is the concatenation of `content`: bytes
 * already encoded and further nodes. A tree of them is written by encodeDer
 * into one allocation, so nesting costs no intermediate buffers.
 */
export interface DerNode {
  tag: number;
  content: (Uint8Array | DerNode)[];
  /** Content length, set by encodeDer. */
  length?: number;
}

export const derNode = (tag: number, ...content: (Uint8Array | DerNode)[]): DerNode => ({ tag, content });

/** Short form below 128, else 0x80|count followed by the big-endian length. */
function lengthOctets(length: number): number {
  let count = 0;
  if (length >= 0x80) for (let n = length; n > 0; n = Math.floor(n / 256)) count++;
  return count;
}

function measure(node: DerNode): number {
  let length = 0;
  for (const part of node.content) length += part instanceof Uint8Array ? part.length : measure(part);
  node.length = length;
  return 2 + lengthOctets(length) + length;
}

function write(out: Buffer, offset: number, node: DerNode): number {
  const length = node.length ?? 0;
  const count = lengthOctets(length);
  out[offset] = node.tag;
  if (count === 0) out[offset + 1] = length;
  else {
    out[offset + 1] = 0x80 | count;
    for (let i = count, n = length; i > 0; i--, n = Math.floor(n / 256)) out[offset + 1 + i] = n & 0xff;
  }
  let at = offset + 2 + count;
  for (const part of node.content) {
    if (part instanceof Uint8Array) {
      out.set(part, at);
      at += part.length;
    } else {
      at = write(out, at, part);
    }
  }
  return at;
}

/** The DER of a tree of nodes. */
export function encodeDer(root: DerNode): Buffer {
  const out = Buffer.allocUnsafe(measure(root));
  write(out, 0, root);
  return out;
}

/** One TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  return encodeDer({ tag, content: parts });
}

/**
 * Content octets of a positive INTEGER for the unsigned big-endian `value`:
 * leading zero bytes dropped, one 0x00 added back when the top bit is set.
 */
export function unsignedIntegerContent(value: Uint8Array): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = Buffer.from(value.subarray(start));
  if (trimmed.length === 0) return Buffer.from([0]);
  return (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

export function bigintToBytes(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative integers are not supported here');
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads the TLV at `offset`; throws RangeError when the bytes are not DER-shaped. */
export function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new RangeError('truncated DER');
  if ((tag & 0x1f) === 0x1f) throw new RangeError('multi-byte DER tags are not supported');
  let contentStart = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[contentStart + i];
      if (lengthByte === undefined) throw new RangeError('truncated DER');
      length = length * 256 + lengthByte;
    }
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new RangeError('truncated DER');
  return { tag, start: offset, contentStart, end };
}

/** The TLVs directly inside the constructed value `parent`. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const items: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const item = readTlv(der, offset);
    items.push(item);
    offset = item.end;
  }
  return items;
}

const oidCache = new Map<string, Buffer>();

/** DER of an OBJECT IDENTIFIER (tag included), memoized: certificates repeat the same few dozen. */
export function oidDer(oid: string): Buffer {
  let der = oidCache.get(oid);
  if (!der) {
    const arcs = oid.split('.').map((arc) => BigInt(arc));
    const [first = 0n, second = 0n, ...rest] = arcs;
    const bytes: number[] = [];
    for (const arc of [first * 40n + second, ...rest]) {
      const groups = [Number(arc & 0x7fn)];
      for (let n = arc >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80);
      bytes.push(...groups);
    }
    der = tlv(0x06, Buffer.from(bytes));
    oidCache.set(oid, der);
  }
  return der;
}

/** The dotted text of an OBJECT IDENTIFIER's content octets; throws RangeError when they are malformed. */
export function oidText(content: Uint8Array): string {
  if (content.length === 0 || ((content[content.length - 1] as number) & 0x80) !== 0) throw new RangeError('malformed OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new RangeError('OBJECT IDENTIFIER arc too large');
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

const two = (n: number): string => String(n).padStart(2, '0');

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) of a whole-second instant. */
export function timeDer(date: Date, generalized: boolean): Buffer {
  const year = date.getUTCFullYear();
  const text =
    (generalized ? String(year).padStart(4, '0') : two(year % 100)) +
    two(date.getUTCMonth() + 1) + two(date.getUTCDate()) +
    two(date.getUTCHours()) + two(date.getUTCMinutes()) + two(date.getUTCSeconds()) + 'Z';
  return tlv(generalized ? 0x18 : 0x17, Buffer.from(text, 'latin1'));
}
