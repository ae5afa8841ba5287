import { AsnSerializer } from '@peculiar/asn1-schema';
import { Extension, Name, Time, Validity } from '@peculiar/asn1-x509';
import { TAG, derNode, encodeDer, oidDer, timeDer, tlv, type DerNode } from './der.js';
import { STRING_TAG, singleAttributeRdn } from './names.js';

/**
 * DER of the schema objects a certificate is made of, fast. The generic
 * schema serializer costs tens of microseconds per object, more than an
 * ECDSA P-256 signature, and a CA signs on a hot path. So:
 *  - objects shared by many certificates (issuer Name, AlgorithmIdentifier,
 *    constant extensions) or whose original bytes we hold (a subject public
 *    key) are remembered with their DER, and frozen, since mutating one would
 *    silently desynchronise it from its bytes;
 *  - Extension, Validity and simple Names (one attribute per RDN, Printable/
 *    UTF8/IA5 strings) are written directly, by the same writers the leaf
 *    template (leaf_template.ts) uses;
 *  - anything else goes through AsnSerializer.
 * Unit tests check that every fast path yields AsnSerializer's bytes.
 */
const remembered = new WeakMap<object, Buffer>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}

/** Freezes `value` and records `der` (or its fresh encoding) as its DER. */
export function remember<T extends object>(value: T, der?: Uint8Array): T {
  const bytes = der ? Buffer.from(der) : toDer(value);
  deepFreeze(value);
  remembered.set(value, bytes);
  return value;
}

const TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** An Extension SEQUENCE as a DER tree; `valueDer` is the content of its extnValue OCTET STRING. */
export function extensionNode(extnID: string, critical: boolean, valueDer: Uint8Array): DerNode {
  return critical
    ? derNode(TAG.sequence, oidDer(extnID), TRUE, derNode(TAG.octetString, valueDer))
    : derNode(TAG.sequence, oidDer(extnID), derNode(TAG.octetString, valueDer));
}

function encodeExtension(ext: Extension): Buffer {
  return encodeDer(extensionNode(ext.extnID, ext.critical, new Uint8Array(ext.extnValue.buffer, ext.extnValue.byteOffset, ext.extnValue.byteLength)));
}

function encodeTime(time: Time): Buffer | undefined {
  const date = time.utcTime ?? time.generalTime;
  if (!date || date.getUTCMilliseconds() !== 0) return undefined;
  return timeDer(date, time.utcTime === undefined);
}

let lastValidity: { notBefore: number; notAfter: number; der: Buffer } = { notBefore: NaN, notAfter: NaN, der: Buffer.alloc(0) };

/**
 * DER of Validity for whole-second instants, with the schema's choice of
 * time type (asn1-x509's Time): UTCTime through 2049, GeneralizedTime after.
 * The result may be shared: copy it, never write into it.
 */
export function validityDer(notBefore: Date, notAfter: Date): Buffer {
  // Leaves issued within the same second share their validity: reuse the last encoding.
  if (lastValidity.notBefore !== notBefore.getTime() || lastValidity.notAfter !== notAfter.getTime()) {
    lastValidity = {
      notBefore: notBefore.getTime(),
      notAfter: notAfter.getTime(),
      der: tlv(TAG.sequence, timeDer(notBefore, notBefore.getUTCFullYear() > 2049), timeDer(notAfter, notAfter.getUTCFullYear() > 2049)),
    };
  }
  return lastValidity.der;
}

function encodeValidity(validity: Validity): Buffer | undefined {
  const notBefore = encodeTime(validity.notBefore);
  const notAfter = encodeTime(validity.notAfter);
  return notBefore && notAfter ? tlv(TAG.sequence, notBefore, notAfter) : undefined;
}

function encodeName(name: Name): Buffer | undefined {
  const rdns: DerNode[] = [];
  for (const rdn of name) {
    const attribute = rdn[0];
    if (rdn.length !== 1 || !attribute) return undefined;
    const { teletexString, printableString, universalString, utf8String, bmpString, ia5String, anyValue } = attribute.value;
    // The CHOICE encodes the first alternative set, in schema order.
    if (teletexString !== undefined || universalString !== undefined || bmpString !== undefined) return undefined;
    if (printableString !== undefined) rdns.push(singleAttributeRdn(attribute.type, STRING_TAG.printable, Buffer.from(printableString, 'latin1')));
    else if (utf8String !== undefined) rdns.push(singleAttributeRdn(attribute.type, STRING_TAG.utf8, Buffer.from(utf8String, 'utf8')));
    else if (ia5String !== undefined && anyValue === undefined) rdns.push(singleAttributeRdn(attribute.type, STRING_TAG.ia5, Buffer.from(ia5String, 'latin1')));
    else return undefined;
  }
  return encodeDer(derNode(TAG.sequence, ...rdns));
}

function encodeDirectly(value: object): Buffer | undefined {
  if (value instanceof Extension) return encodeExtension(value);
  if (value instanceof Validity) return encodeValidity(value);
  if (value instanceof Name) return encodeName(value);
  return undefined;
}

export function toDer(value: object): Buffer {
  return remembered.get(value) ?? encodeDirectly(value) ?? Buffer.from(AsnSerializer.serialize(value));
}
