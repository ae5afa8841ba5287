/**
 * The PKCS#12 key derivation of RFC 7292 appendix B.2, which derives the MAC
 * key of a PFX from its password. Pure: a function of its inputs.
 */
import { createHash } from 'node:crypto';

/** PKCS#12 purpose ids (B.3). */
export const PKCS12_KEY_ID = { encryption: 1, iv: 2, mac: 3 } as const;

const HASH_SIZES: Record<string, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha512: { u: 64, v: 128 },
};

/** The password as a null-terminated big-endian BMPString, as RFC 7292 B.1 formats it. */
export function bmpPassword(password: string): Buffer {
  return Buffer.from(password + '\0', 'utf16le').swap16();
}

/** `bytes` repeated to fill a multiple of `v` bytes at least as long as itself (none when empty). */
function fill(bytes: Buffer, v: number): Buffer {
  const out = Buffer.alloc(v * Math.ceil(bytes.length / v));
  for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length] as number;
  return out;
}

export function pkcs12Kdf(p: { password: string; salt: Buffer; id: number; iterations: number; size: number; hash: 'sha1' | 'sha256' | 'sha512' }): Buffer {
  const sizes = HASH_SIZES[p.hash];
  if (!sizes) throw new RangeError(`unsupported hash ${p.hash}`);
  const { u, v } = sizes;
  const diversifier = Buffer.alloc(v, p.id);
  const input = Buffer.concat([fill(p.salt, v), fill(bmpPassword(p.password), v)]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < p.size; produced += u) {
    let a = createHash(p.hash).update(diversifier).update(input).digest();
    for (let r = 1; r < p.iterations; r++) a = createHash(p.hash).update(a).digest();
    blocks.push(a);
    // Each v-byte block of the input becomes (block + B + 1) mod 2^(8v), B being A repeated to v bytes.
    const b = fill(a, v);
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (input[j + k] as number) + (b[k] as number) + carry;
        input[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, p.size);
}
