import { createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { ExtensionRequest, id_pkcs9_at_extensionRequest } from '@peculiar/asn1-pkcs9';
import { Attribute, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import { children, oidText, readTlv, TAG, type Tlv } from './der.js';
import { EXTENSION, readSubjectAltNameValue, subjectAltNameExtension } from './extensions.js';
import { checkSpkiPolicy } from './keys.js';
import { checkSignatureOnThread } from './csr_signature_thread.js';
import { publicKeyFromSpki, spkiKeyInput } from './spki_key.js';
import { ATTRIBUTE, MAX_COMMON_NAME_LENGTH, buildName, canonicalIp } from './names.js';
import { splitPemBlocks, toPem } from './pem.js';
import { describeSignatureOid, signEnvelope, signatureAlgorithmForKey, type SignatureAlgorithmInfo } from './signing.js';

export interface ParsedCsr {
  der: Buffer;
  commonName?: string;
  dnsNames: string[];
  /** Canonical text form. */
  ipAddresses: string[];
  /** The SubjectPublicKeyInfo exactly as in the CSR. */
  spkiDer: Buffer;
  signatureValid: boolean;
  /** OpenSSL's name, e.g. ecdsa-with-SHA256; the dotted OID when unknown. */
  signatureAlgorithm: string;
}

const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

/** `details.problem` is what is wrong without the advice on pasting PEM, for callers that take DER (ACME). */
function csrInvalid(problem: string): CertdeskError {
  return new CertdeskError('CSR_INVALID', `${problem} Paste one PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----).`, {
    status: 400,
    field: 'csr.pem',
    details: { problem },
  });
}

function csrDer(pem: string): Buffer {
  const blocks = splitPemBlocks(typeof pem === 'string' ? pem : '').filter((block) => CSR_LABELS.has(block.label));
  if (blocks.length === 0) throw csrInvalid('The CSR is not a PEM certificate request.');
  if (blocks.length > 1) throw csrInvalid(`The text holds ${blocks.length} certificate requests.`);
  return (blocks[0] as { der: Buffer }).der;
}

const TAG_BOOLEAN = 0x01;
const TAG_OID = 0x06;
const TAG_SET = 0x31;
/** attributes [0] IMPLICIT SET OF Attribute. */
const TAG_ATTRIBUTES = 0xa0;

/** The value of a subject attribute as text: the DirectoryString and IA5String forms, else its hex. */
function attributeText(tag: number, content: Uint8Array): string {
  const bytes = Buffer.from(content);
  switch (tag) {
    case 0x0c:
      return bytes.toString('utf8');
    case 0x13:
    case 0x16:
    case 0x14:
      return bytes.toString('latin1');
    case 0x1e:
      if (bytes.length % 2 !== 0) throw new RangeError('odd-length BMPString');
      return Buffer.from(bytes).swap16().toString('utf16le');
    case 0x1c: {
      if (bytes.length % 4 !== 0) throw new RangeError('malformed UniversalString');
      const points: number[] = [];
      for (let i = 0; i < bytes.length; i += 4) points.push(bytes.readUInt32BE(i));
      return String.fromCodePoint(...points);
    }
    default:
      return bytes.toString('hex');
  }
}

/** A TLV inside `parent` at `index` with the `tag` expected there. */
function child(der: Uint8Array, parent: Tlv, tag: number, index = 0): Tlv {
  const item = children(der, parent)[index];
  if (!item || item.tag !== tag) throw new RangeError(`expected tag ${tag} at ${index}`);
  return item;
}

const contentOf = (der: Uint8Array, item: Tlv): Uint8Array => der.subarray(item.contentStart, item.end);

/** The subject's common names: walks Name → RDN → AttributeTypeAndValue. */
function subjectCommonNames(der: Uint8Array, subject: Tlv): string[] {
  const names: string[] = [];
  for (const rdn of children(der, subject)) {
    if (rdn.tag !== TAG_SET) throw new RangeError('RDN is not a SET');
    for (const pair of children(der, rdn)) {
      if (pair.tag !== TAG.sequence) throw new RangeError('AttributeTypeAndValue is not a SEQUENCE');
      const [type, value] = children(der, pair);
      if (!type || type.tag !== TAG_OID || !value) throw new RangeError('malformed AttributeTypeAndValue');
      if (oidText(contentOf(der, type)) === ATTRIBUTE.commonName) names.push(attributeText(value.tag, contentOf(der, value)));
    }
  }
  return names;
}

/** Names requested through the PKCS#9 extensionRequest attribute's subjectAltName. */
function requestedAltNames(der: Uint8Array, attributes: Tlv | undefined): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const attribute of attributes ? children(der, attributes) : []) {
    if (attribute.tag !== TAG.sequence) throw new RangeError('Attribute is not a SEQUENCE');
    const type = child(der, attribute, TAG_OID, 0);
    const values = child(der, attribute, TAG_SET, 1);
    if (oidText(contentOf(der, type)) !== id_pkcs9_at_extensionRequest) continue;
    for (const extensions of children(der, values)) {
      if (extensions.tag !== TAG.sequence) throw new RangeError('Extensions is not a SEQUENCE');
      for (const extension of children(der, extensions)) {
        const parts = children(der, extension);
        const id = parts[0];
        const value = parts[parts.length - 1];
        const criticalOk = parts.length === 2 || (parts.length === 3 && parts[1]?.tag === TAG_BOOLEAN);
        if (extension.tag !== TAG.sequence || !id || id.tag !== TAG_OID || !value || value.tag !== TAG.octetString || !criticalOk) throw new RangeError('malformed Extension');
        if (oidText(contentOf(der, id)) !== EXTENSION.subjectAltName) continue;
        const names = readSubjectAltNameValue(contentOf(der, value));
        dnsNames.push(...names.dnsNames);
        for (const ip of names.ipAddresses) {
          if (!ip) throw csrInvalid("The CSR's subjectAltName holds an IP address that is neither IPv4 nor IPv6.");
          ipAddresses.push(ip);
        }
      }
    }
  }
  return { dnsNames, ipAddresses };
}

/** A CSR as read, before its signature is checked. */
interface ReadCsr {
  fields: Omit<ParsedCsr, 'signatureValid'>;
  algorithm: SignatureAlgorithmInfo;
  /** The CertificationRequestInfo, as signed. */
  infoDer: Buffer;
  signature: Uint8Array;
}

const unreadableKey = (): CertdeskError => csrInvalid("The CSR's public key cannot be read.");

/** The CSR's key, read here; throws CSR_INVALID when it cannot be read. */
function csrKey({ fields }: ReadCsr): KeyObject {
  try {
    return publicKeyFromSpki(fields.spkiDer);
  } catch {
    throw unreadableKey();
  }
}

/** Parses a CSR and checks its signature here, without any policy. */
export function parseCsr(pem: string): ParsedCsr {
  const read = readCsr(pem);
  const key = csrKey(read);
  let signatureValid = false;
  try {
    signatureValid = read.algorithm.hash !== undefined && verify(read.algorithm.hash, read.infoDer, key, read.signature);
  } catch {
    signatureValid = false;
  }
  return { ...read.fields, signatureValid };
}

/**
 * Walks the PKCS#10 DER directly (SEQUENCE { info, signatureAlgorithm,
 * signature }): a CSR is checked on every pasted application and ACME
 * finalize, and the schema parser cost more than the signature check.
 */
function readCsr(pem: string): ReadCsr {
  const der = csrDer(pem);
  let infoDer: Buffer;
  let spkiDer: Buffer;
  let subject: Tlv;
  let attributes: Tlv | undefined;
  let algorithmOid: string;
  let signature: Uint8Array;
  try {
    const outer = readTlv(der, 0);
    if (outer.tag !== TAG.sequence || outer.end !== der.length) throw new RangeError('not one SEQUENCE');
    const parts = children(der, outer);
    const [info, algorithmId, signatureBits] = parts;
    if (parts.length !== 3 || !info || info.tag !== TAG.sequence || !algorithmId || algorithmId.tag !== TAG.sequence || !signatureBits || signatureBits.tag !== TAG.bitString) {
      throw new RangeError('not a CertificationRequest');
    }
    const fields = children(der, info);
    const [version, name, spki, attributeSet] = fields;
    if (!version || version.tag !== TAG.integer || !name || name.tag !== TAG.sequence || !spki || spki.tag !== TAG.sequence || fields.length > 4) {
      throw new RangeError('not a CertificationRequestInfo');
    }
    if (attributeSet && attributeSet.tag !== TAG_ATTRIBUTES) throw new RangeError('attributes are not [0]');
    algorithmOid = oidText(contentOf(der, child(der, algorithmId, TAG_OID)));
    const bits = contentOf(der, signatureBits);
    if (bits[0] !== 0) throw new RangeError('signature BIT STRING with unused bits');
    signature = bits.subarray(1);
    infoDer = der.subarray(info.start, info.end);
    spkiDer = der.subarray(spki.start, spki.end);
    subject = name;
    attributes = attributeSet;
  } catch {
    throw csrInvalid('The CSR is not a valid PKCS#10 structure.');
  }
  let commonNames: string[];
  let altNames: { dnsNames: string[]; ipAddresses: string[] };
  try {
    commonNames = subjectCommonNames(der, subject);
    altNames = requestedAltNames(der, attributes);
  } catch (err) {
    if (err instanceof CertdeskError) throw err;
    throw csrInvalid("The CSR's subject or requested extensions cannot be decoded.");
  }
  if (commonNames.length > 1) throw csrInvalid(`The CSR's subject has ${commonNames.length} common names (CN); use one.`);

  const algorithm = describeSignatureOid(algorithmOid);
  const fields: ReadCsr['fields'] = { der, ...altNames, spkiDer: Buffer.from(spkiDer), signatureAlgorithm: algorithm.name };
  if (commonNames[0] !== undefined) fields.commonName = commonNames[0];
  return { fields, algorithm, infoDer, signature };
}

/** A DNS name lowercased, an IP address in canonical form. */
function normalizeName(name: string): string {
  return canonicalIp(name) ?? name.toLowerCase();
}

/**
 * Parses a subscriber's CSR and checks it may be certified for exactly
 * `expectedNames`: valid signature, no SHA-1/MD5, an accepted key, and
 * CN ∪ SAN equal to the names of the application.
 */
export async function checkCsr(pem: string, expectedNames: string[]): Promise<ParsedCsr> {
  const read = readCsr(pem);
  const { algorithm } = read;
  const csr: ParsedCsr = { ...read.fields, signatureValid: false };
  if (algorithm.hash === undefined) {
    csrKey(read);
    throw new CertdeskError(
      'CSR_SIGNATURE_UNSUPPORTED',
      `The CSR is signed with ${csr.signatureAlgorithm}, which certdesk cannot verify. Sign it with SHA-256 (ECDSA or RSA PKCS#1 v1.5).`,
      { status: 400, field: 'csr.pem' },
    );
  }
  const verdict = await checkSignatureOnThread({ hash: algorithm.hash, key: spkiKeyInput(csr.spkiDer), signed: read.infoDer, signature: read.signature });
  if (verdict === 'unreadable-key') throw unreadableKey();
  csr.signatureValid = verdict === 'valid';
  if (!csr.signatureValid) {
    throw new CertdeskError('CSR_BAD_SIGNATURE', "The CSR's signature does not verify with its own public key; the CSR was altered or damaged. Generate it again.", {
      status: 400,
      field: 'csr.pem',
    });
  }
  if (algorithm.weak) {
    throw new CertdeskError('CSR_WEAK_SIGNATURE', `The CSR is signed with ${csr.signatureAlgorithm}; SHA-1 and MD5 are refused. Sign it with SHA-256 or stronger.`, {
      status: 400,
      field: 'csr.pem',
    });
  }
  // The SPKI parsed as a key in parse(), so its facts can be read without exporting the key again.
  checkSpkiPolicy(csr.spkiDer);

  const inCsr = new Set([...(csr.commonName === undefined ? [] : [csr.commonName]), ...csr.dnsNames, ...csr.ipAddresses].map(normalizeName));
  const expected = new Set(expectedNames.map(normalizeName));
  const missing = [...expected].filter((name) => !inCsr.has(name));
  const extra = [...inCsr].filter((name) => !expected.has(name));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing from the CSR: ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`in the CSR but not in the application: ${extra.join(', ')}`] : []),
    ];
    throw new CertdeskError(
      'CSR_NAMES_MISMATCH',
      `The CSR's names do not match the application (${parts.join('; ')}). Its CN and subjectAltName must list exactly: ${[...expected].join(', ')}.`,
      { status: 400, field: 'csr.pem', details: { missing, extra } },
    );
  }
  return csr;
}

/**
 * A PEM CSR for `names` signed by the given PKCS#8 key: CN = names[0] (left
 * out when longer than 64 characters, then the SAN is critical) and a SAN of
 * every name, IPs as iPAddress.
 */
export function createCsr(privateKeyPem: string, names: string[]): string {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch {
    throw new CertdeskError('KEY_INVALID', 'The private key is not a readable PEM key.', { status: 400 });
  }
  const algorithm = signatureAlgorithmForKey(privateKey);
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const dnsNames = names.filter((name) => canonicalIp(name) === undefined);
  const ipAddresses = names.flatMap((name) => canonicalIp(name) ?? []);
  const commonName = names[0] !== undefined && names[0].length <= MAX_COMMON_NAME_LENGTH ? names[0] : undefined;
  const san = subjectAltNameExtension(dnsNames, ipAddresses, commonName === undefined);
  const info = new CertificationRequestInfo({
    version: 0,
    subject: buildName(commonName === undefined ? [] : [[ATTRIBUTE.commonName, commonName]]),
    subjectPKInfo: AsnParser.parse(spkiDer, SubjectPublicKeyInfo),
    attributes: new Attributes([
      new Attribute({ type: id_pkcs9_at_extensionRequest, values: [AsnSerializer.serialize(new ExtensionRequest([san]))] }),
    ]),
  });
  return toPem(signEnvelope(Buffer.from(AsnSerializer.serialize(info)), privateKey, algorithm), 'CERTIFICATE REQUEST');
}
