/**
 * PKCS#12 (RFC 7292) files for IIS and Windows, written with the DER writer
 * of der.ts and node:crypto.
 */
import { createCipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, randomBytes } from 'node:crypto';
import { CertdeskError } from '../errors.js';
import { bigintToBytes, derNode, encodeDer, oidDer, TAG, type DerNode, unsignedIntegerContent } from './der.js';
import { fromPem } from './pem.js';
import { PKCS12_KEY_ID, pkcs12Kdf } from './pkcs12_kdf.js';

type Node = DerNode | Uint8Array;

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  /** Oracle's attribute that makes Java's keytool load a certificate bag as a trusted certificate entry. */
  javaTrustedKeyUsage: '2.16.840.1.113894.746875.1.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
};
/** OpenSSL 3's defaults for `openssl pkcs12 -export`. */
const ITERATIONS = 2048;

const TAG_SET = 0x31;
const TAG_NULL = 0x05;
const TAG_BMP_STRING = 0x1e;
/** [0] IMPLICIT OCTET STRING, a primitive context tag (encryptedContent). */
const TAG_IMPLICIT0_PRIMITIVE = 0x80;

const der = (node: DerNode): Buffer => encodeDer(node);
const seq = (...items: Node[]): DerNode => derNode(TAG.sequence, ...items);
const set = (...items: Node[]): DerNode => derNode(TAG_SET, ...items);
const oid = (id: string): Buffer => oidDer(id);
const octets = (bytes: Uint8Array): DerNode => derNode(TAG.octetString, bytes);
const integer = (n: number): DerNode => derNode(TAG.integer, unsignedIntegerContent(bigintToBytes(BigInt(n))));
const explicit0 = (item: Node): DerNode => derNode(TAG.explicit0, item);
const nullNode = (): DerNode => derNode(TAG_NULL);
const bmpString = (text: string): DerNode => derNode(TAG_BMP_STRING, Buffer.from(text, 'utf16le').swap16());

/** PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC): returns the AlgorithmIdentifier and the ciphertext. */
function pbes2Encrypt(plaintext: Buffer, password: string): { algorithm: Node; ciphertext: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const algorithm = seq(
    oid(OID.pbes2),
    seq(
      seq(oid(OID.pbkdf2), seq(octets(salt), integer(ITERATIONS), seq(oid(OID.hmacWithSha256), nullNode()))),
      seq(oid(OID.aes256Cbc), octets(iv)),
    ),
  );
  return { algorithm, ciphertext };
}

function bagAttributes(friendlyName: string | undefined, localKeyId: Buffer | undefined, javaTrusted = false): Node[] {
  const attributes: Node[] = [];
  if (friendlyName !== undefined) {
    attributes.push(seq(oid(OID.friendlyName), set(bmpString(friendlyName))));
  }
  if (localKeyId) attributes.push(seq(oid(OID.localKeyId), set(octets(localKeyId))));
  if (javaTrusted) attributes.push(seq(oid(OID.javaTrustedKeyUsage), set(oid(OID.anyExtendedKeyUsage))));
  return attributes.length > 0 ? [set(...attributes)] : [];
}

const dataContentInfo = (content: Buffer): Node => seq(oid(OID.data), explicit0(octets(content)));

function encryptedDataContentInfo(content: Buffer, password: string): Node {
  const { algorithm, ciphertext } = pbes2Encrypt(content, password);
  const encryptedContent = derNode(TAG_IMPLICIT0_PRIMITIVE, ciphertext);
  return seq(oid(OID.encryptedData), explicit0(seq(integer(0), seq(oid(OID.data), algorithm, encryptedContent))));
}

/**
 * A PKCS#12 file: certificates in a PBES2/AES-256-CBC encrypted bag, the key
 * (when given) as a PBES2/AES-256-CBC shrouded key bag, and a SHA-256 MAC, so
 * OpenSSL 3 opens it without -legacy. The leaf and its key share a localKeyId.
 * Without a key, each certificate is marked trusted the way Java writes it and
 * named like the JKS's entries (friendlyName, friendlyName-1, ...), so keytool
 * lists them instead of an empty store.
 */
export function buildPfx(p: { chainPem: string[]; privateKeyPem?: string; password: string; friendlyName: string }): Buffer {
  const certificates = p.chainPem.map((pem) => fromPem(pem, 'CERTIFICATE'));
  const leaf = certificates[0];
  if (!leaf) throw new CertdeskError('PFX_EMPTY', 'A PKCS#12 file needs at least one certificate.', { status: 400 });
  const localKeyId = p.privateKeyPem === undefined ? undefined : createHash('sha1').update(leaf).digest();

  const certOnly = p.privateKeyPem === undefined;
  const certBags = certificates.map((cert, i) =>
    seq(
      oid(OID.certBag),
      explicit0(seq(oid(OID.x509Certificate), explicit0(octets(cert)))),
      ...(certOnly ? bagAttributes(i === 0 ? p.friendlyName : `${p.friendlyName}-${i}`, undefined, true) : i === 0 ? bagAttributes(p.friendlyName, localKeyId) : []),
    ),
  );
  const contents = [encryptedDataContentInfo(der(seq(...certBags)), p.password)];

  if (p.privateKeyPem !== undefined && localKeyId) {
    const pkcs8 = createPrivateKey(p.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
    const { algorithm, ciphertext } = pbes2Encrypt(pkcs8, p.password);
    const keyBag = seq(oid(OID.pkcs8ShroudedKeyBag), explicit0(seq(algorithm, octets(ciphertext))), ...bagAttributes(p.friendlyName, localKeyId));
    contents.push(dataContentInfo(der(seq(keyBag))));
  }

  const authenticatedSafe = der(seq(...contents));
  const macSalt = randomBytes(16);
  const macKey = pkcs12Kdf({ password: p.password, salt: macSalt, id: PKCS12_KEY_ID.mac, iterations: ITERATIONS, size: 32, hash: 'sha256' });
  const mac = createHmac('sha256', macKey).update(authenticatedSafe).digest();
  const macData = seq(seq(seq(oid(OID.sha256), nullNode()), octets(mac)), octets(macSalt), integer(ITERATIONS));
  return der(seq(integer(3), dataContentInfo(authenticatedSafe), macData));
}
