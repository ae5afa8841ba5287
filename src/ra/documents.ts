import { CertdeskError } from '../errors.js';

/** Qualification documents (OV/EV) are scans or photos of at most 500 KB. */
export const MAX_DOCUMENT_BYTES = 500 * 1024;

export const DOCUMENT_KINDS = ['business_license', 'authorization_letter', 'id_card', 'other'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export type DocumentMime = 'image/png' | 'image/jpeg';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks an uploaded qualification document and tells its type. The type is
 * decided by the bytes only: the file name is user input and proves nothing.
 */
export function checkQualificationDocument(input: { fileName: string; bytes: Buffer }): { mime: DocumentMime; size: number } {
  const { fileName, bytes } = input;
  const size = bytes.length;
  if (size === 0) {
    throw new CertdeskError('DOCUMENT_EMPTY', `The file "${fileName}" is empty. Upload a PNG or JPEG scan of the document.`, {
      field: 'file',
    });
  }
  // An upload is read only to one byte past the limit, so its real size is not known here.
  if (size > MAX_DOCUMENT_BYTES) {
    throw new CertdeskError(
      'DOCUMENT_TOO_LARGE',
      `The file "${fileName}" is larger than ${formatKb(MAX_DOCUMENT_BYTES)}, the most a document may be (${MAX_DOCUMENT_BYTES} bytes). Scan at a lower resolution or compress the image.`,
      { status: 413, field: 'file', details: { limit: MAX_DOCUMENT_BYTES } },
    );
  }
  if (isPng(bytes)) return { mime: 'image/png', size };
  if (isJpeg(bytes)) return { mime: 'image/jpeg', size };
  throw new CertdeskError(
    'DOCUMENT_NOT_IMAGE',
    `The file "${fileName}" is not a PNG or JPEG image. Only PNG or JPEG images are accepted; convert the document (for example a PDF) to one of them.`,
    { status: 415, field: 'file' },
  );
}

function formatKb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** The PNG signature followed by an IHDR chunk (always the first, 13 bytes long) with a non-zero size. */
function isPng(bytes: Buffer): boolean {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return false;
  const ihdrLength = bytes.readUInt32BE(8);
  const chunkType = bytes.toString('latin1', 12, 16);
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  return ihdrLength === 13 && chunkType === 'IHDR' && width > 0 && height > 0;
}

/**
 * SOI (FF D8) followed by a real marker segment: a marker that carries a
 * length (not RSTn, SOI, EOI or fill), with a length that fits in the file. Other formats that merely
 * start with FF D8 FF do not pass this.
 */
function isJpeg(bytes: Buffer): boolean {
  if (bytes.length < 6 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) return false;
  const marker = bytes[3]!;
  if (marker < 0xc0 || (marker >= 0xd0 && marker <= 0xd9) || marker === 0xff) return false;
  const segmentLength = bytes.readUInt16BE(4);
  return segmentLength >= 2 && 4 + segmentLength <= bytes.length;
}
