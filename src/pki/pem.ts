import { hash } from 'node:crypto';
import { CertdeskError } from '../errors.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

export function toPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** Every well-formed PEM block in `text`, in order; text around the blocks is ignored. */
export function splitPemBlocks(text: string): { label: string; der: Buffer }[] {
  const blocks: { label: string; der: Buffer }[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [, label, body] = match;
    if (label === undefined || body === undefined || !BASE64_BODY.test(body)) continue;
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    if (der.length > 0) blocks.push({ label, der });
  }
  return blocks;
}

/** The DER of the first PEM block (with `label`, when given). */
export function fromPem(pem: string, label?: string): Buffer {
  const block = splitPemBlocks(pem).find((b) => label === undefined || b.label === label);
  if (!block) {
    const wanted = label ? `a "-----BEGIN ${label}-----" block` : 'a "-----BEGIN ...-----" block';
    throw new CertdeskError('PEM_INVALID', `The text is not PEM: expected ${wanted} with base64 content.`);
  }
  return block.der;
}

const HEX_DIGITS = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * "AB:CD:..." of a digest given as a binary (latin1) string, which node
 * returns faster than a Buffer; written into one buffer, so the line is one
 * flat string instead of dozens of joined pieces.
 */
function colonHex(digest: string): string {
  const out = Buffer.allocUnsafe(digest.length * 3 - 1);
  for (let i = 0; i < digest.length; i++) {
    const byte = digest.charCodeAt(i);
    if (i > 0) out[i * 3 - 1] = 0x3a;
    out[i * 3] = HEX_DIGITS[byte >> 4] as number;
    out[i * 3 + 1] = HEX_DIGITS[byte & 15] as number;
  }
  return out.toString('latin1');
}

/** SHA-1 and SHA-256 fingerprints formatted like `openssl x509 -fingerprint`. */
export function fingerprints(der: Uint8Array): { sha1: string; sha256: string } {
  return {
    sha1: colonHex(hash('sha1', der, 'binary')),
    sha256: colonHex(hash('sha256', der, 'binary')),
  };
}
