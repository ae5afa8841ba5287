import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { AsnSerializer } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { CertdeskError } from '../errors.js';
import { TAG, tlv } from './der.js';

const MAGIC = 0xfeedfeed;
const VERSION = 2;
const PRIVATE_KEY_ENTRY = 1;
const TRUSTED_CERT_ENTRY = 2;
/** Sun's proprietary JKS key protector (sun.security.provider.KeyProtector). */
const KEY_PROTECTOR_OID = '1.3.6.1.4.1.42.2.17.1.1';
const INTEGRITY_WHITENER = Buffer.from('Mighty Aphrodite', 'utf8');

/** Java's char[] password as bytes: each UTF-16 code unit big-endian. */
function passwordBytes(password: string): Buffer {
  const bytes = Buffer.alloc(password.length * 2);
  for (let i = 0; i < password.length; i++) bytes.writeUInt16BE(password.charCodeAt(i), i * 2);
  return bytes;
}

/** DataOutputStream.writeUTF: a 2-byte length and modified UTF-8 (NUL as two bytes, surrogates one by one). */
function javaUtf(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x01 && c <= 0x7f) bytes.push(c);
    else if (c <= 0x7ff) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  if (bytes.length > 0xffff) throw new CertdeskError('JKS_ALIAS_INVALID', 'The keystore alias is too long.', { status: 400 });
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, Buffer.from(bytes)]);
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const certificate = (der: Buffer): Buffer => Buffer.concat([javaUtf('X.509'), u32(der.length), der]);

/**
 * KeyProtector.protect: XOR the PKCS#8 key with a SHA-1 chain seeded by a
 * random salt, append SHA-1(password || key) as the check, and wrap it as an
 * EncryptedPrivateKeyInfo naming the Sun algorithm.
 */
function protectKey(pkcs8: Buffer, password: Buffer): Buffer {
  const salt = randomBytes(20);
  const encrypted = Buffer.alloc(pkcs8.length);
  let digest: Buffer = salt;
  for (let offset = 0; offset < pkcs8.length; offset += 20) {
    digest = createHash('sha1').update(password).update(digest).digest();
    for (let i = 0; i < 20 && offset + i < pkcs8.length; i++) {
      encrypted[offset + i] = (pkcs8[offset + i] as number) ^ (digest[i] as number);
    }
  }
  const check = createHash('sha1').update(password).update(pkcs8).digest();
  const algorithm = Buffer.from(AsnSerializer.serialize(new AlgorithmIdentifier({ algorithm: KEY_PROTECTOR_OID, parameters: null })));
  return tlv(TAG.sequence, algorithm, tlv(TAG.octetString, salt, encrypted, check));
}

/**
 * A Java KeyStore (JKS, version 2). With a key: one PrivateKeyEntry holding
 * the whole chain; without: one trustedCertEntry per certificate, named
 * alias, alias-1, alias-2, ... The key and the store share `password`.
 */
export function buildJks(p: { alias: string; privateKeyPem?: string; chainDer: Buffer[]; password: string; now: Date }): Buffer {
  if (p.chainDer.length === 0) throw new CertdeskError('JKS_EMPTY', 'A Java keystore needs at least one certificate.', { status: 400 });
  const password = passwordBytes(p.password);
  const alias = p.alias.toLowerCase(); // JKS aliases are case-insensitive and stored lowercase.
  const timestamp = u64(p.now.getTime());
  const entries: Buffer[] = [];
  if (p.privateKeyPem !== undefined) {
    const pkcs8 = createPrivateKey(p.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
    const protectedKey = protectKey(pkcs8, password);
    entries.push(
      u32(PRIVATE_KEY_ENTRY), javaUtf(alias), timestamp,
      u32(protectedKey.length), protectedKey,
      u32(p.chainDer.length), ...p.chainDer.map(certificate),
    );
  } else {
    p.chainDer.forEach((der, i) => {
      entries.push(u32(TRUSTED_CERT_ENTRY), javaUtf(i === 0 ? alias : `${alias}-${i}`), timestamp, certificate(der));
    });
  }
  const count = p.privateKeyPem !== undefined ? 1 : p.chainDer.length;
  const body = Buffer.concat([u32(MAGIC), u32(VERSION), u32(count), ...entries]);
  const integrity = createHash('sha1').update(password).update(INTEGRITY_WHITENER).update(body).digest();
  return Buffer.concat([body, integrity]);
}
