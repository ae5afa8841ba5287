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

/** "00".."FF", indexed by byte value. */
const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, '0'));

/**
 * "AB:CD:..." of a digest given as a latin1 string: node returns a digest as
 * a string faster than as a Buffer, and joining the pairs costs less still.
 */
function colonHex(digest: string): string {
  let line = HEX_PAIRS[digest.charCodeAt(0)] ?? '';
  for (let i = 1; i < digest.length; i++) line += `:${HEX_PAIRS[digest.charCodeAt(i)] ?? ''}`;
  return line;
}

/** SHA-1 and SHA-256 fingerprints formatted like `openssl x509 -fingerprint`. */
export function fingerprints(der: Uint8Array): { sha1: string; sha256: string } {
  return {
    sha1: colonHex(hash('sha1', der, 'binary')),
    sha256: colonHex(hash('sha256', der, 'binary')),
  };
}
