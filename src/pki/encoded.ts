import { AsnSerializer } from '@peculiar/asn1-schema';
import { Extension, Name, Time, Validity } from '@peculiar/asn1-x509';
import { TAG, oidDer, timeDer, tlv } from './der.js';

/**
 * DER of the schema objects a certificate is made of, fast. The generic
 * schema serializer costs tens of microseconds per object, more than an
 * ECDSA P-256 signature, and a CA signs on a hot path. So:
 *  - objects shared by many certificates (issuer Name, AlgorithmIdentifier,
 *    constant extensions) or whose original bytes we hold (a subject public
 *    key) are remembered with their DER, and frozen, since mutating one would
 *    silently desynchronise it from its bytes;
 *  - Extension, Validity and simple Names (one attribute per RDN, Printable/
 *    UTF8/IA5 strings) are written directly;
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

function encodeExtension(ext: Extension): Buffer {
  const value = new Uint8Array(ext.extnValue.buffer, ext.extnValue.byteOffset, ext.extnValue.byteLength);
  return ext.critical
    ? tlv(TAG.sequence, oidDer(ext.extnID), TRUE, tlv(TAG.octetString, value))
    : tlv(TAG.sequence, oidDer(ext.extnID), tlv(TAG.octetString, value));
}

function encodeTime(time: Time): Buffer | undefined {
  const date = time.utcTime ?? time.generalTime;
  if (!date || date.getUTCMilliseconds() !== 0) return undefined;
  return timeDer(date, time.utcTime === undefined);
}

function encodeValidity(validity: Validity): Buffer | undefined {
  const notBefore = encodeTime(validity.notBefore);
  const notAfter = encodeTime(validity.notAfter);
  return notBefore && notAfter ? tlv(TAG.sequence, notBefore, notAfter) : undefined;
}

function encodeName(name: Name): Buffer | undefined {
  const rdns: Buffer[] = [];
  for (const rdn of name) {
    const attribute = rdn[0];
    if (rdn.length !== 1 || !attribute) return undefined;
    const { teletexString, printableString, universalString, utf8String, bmpString, ia5String, anyValue } = attribute.value;
    // The CHOICE encodes the first alternative set, in schema order.
    if (teletexString !== undefined || universalString !== undefined || bmpString !== undefined) return undefined;
    let value: Buffer;
    if (printableString !== undefined) value = tlv(0x13, Buffer.from(printableString, 'latin1'));
    else if (utf8String !== undefined) value = tlv(0x0c, Buffer.from(utf8String, 'utf8'));
    else if (ia5String !== undefined && anyValue === undefined) value = tlv(0x16, Buffer.from(ia5String, 'latin1'));
    else return undefined;
    rdns.push(tlv(0x31, tlv(TAG.sequence, oidDer(attribute.type), value)));
  }
  return tlv(TAG.sequence, ...rdns);
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
