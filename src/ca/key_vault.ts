/**
 * Key custody: every private key certdesk stores is sealed with AES-256-GCM
 * under a master key that lives only in the data folder (mode 0600), never in
 * the database. The associated data binds a sealed key to the row it belongs
 * to, so a ciphertext copied onto another tenant's row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CertdeskError } from '../errors.js';

const VERSION = 'v1';
const MASTER_KEY_FILE = 'master.key';

/** Whether `dataDir` is a data folder certdesk has started on: it holds the master key. */
export function hasMasterKey(dataDir: string): boolean {
  return existsSync(path.join(dataDir, MASTER_KEY_FILE));
}

export class KeyVault {
  private readonly masterKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    this.masterKey = masterKey;
  }

  /** Loads `master.key` from the data folder, creating it on first start. */
  static openOrCreate(dataDir: string): { vault: KeyVault; created: boolean } {
    const file = path.join(dataDir, MASTER_KEY_FILE);
    if (existsSync(file)) {
      const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
      if (key.length !== 32) {
        throw new CertdeskError('MASTER_KEY_INVALID', `${file} does not hold a 32-byte base64 key; restore it from your backup.`, { status: 500 });
      }
      return { vault: new KeyVault(key), created: false };
    }
    const key = randomBytes(32);
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return { vault: new KeyVault(key), created: true };
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, boundTo: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('sealed value has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
