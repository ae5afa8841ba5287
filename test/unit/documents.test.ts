import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import { checkQualificationDocument, MAX_DOCUMENT_BYTES } from '../../src/ra/documents.js';
import { CertdeskError } from '../../src/errors.js';

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A real 2x2 RGB PNG; `padding` adds an ancillary tEXt chunk to reach a wanted size. */
function png(padding = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, truecolor, deflate, no filter, no interlace
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  const chunks = [pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows))];
  if (padding > 0) chunks.push(pngChunk('tEXt', Buffer.concat([Buffer.from('Comment\0'), Buffer.alloc(padding, 0x61)])));
  chunks.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

/** A real 3x4 baseline JPEG written by libjpeg (pdftoppm -jpeg). */
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEAAAAAAAD/2wBDAFA3PEY8MlBGQUZaVVBfeMiCeG5uePWvuZHI////////////////////////////////' +
    '////////////////////2wBDAVVaWnhpeOuCguv/////////////////////////////////////////////////////////////' +
    '////////////wAARCAAEAAMDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF' +
    'BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW' +
    'V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi' +
    '4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC' +
    'AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm' +
    'Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq' +
    '8vP09fb3+Pn6/9oADAMBAAIRAxEAPwC2Tg0UUUAf/9k=',
  'base64',
);

/** A 1x1 GIF89a. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');

function rejectsWith(bytes: Buffer, fileName: string, code: string, status: number): CertdeskError {
  let caught: unknown;
  assert.throws(
    () => checkQualificationDocument({ fileName, bytes }),
    (error: unknown) => {
      caught = error;
      return error instanceof CertdeskError && error.code === code && error.status === status;
    },
  );
  return caught as CertdeskError;
}

describe('checkQualificationDocument', () => {
  test('accepts a PNG by its content, whatever its name', () => {
    const bytes = png();
    assert.deepEqual(checkQualificationDocument({ fileName: 'license.png', bytes }), { mime: 'image/png', size: bytes.length });
    assert.deepEqual(checkQualificationDocument({ fileName: 'license.jpg', bytes }), { mime: 'image/png', size: bytes.length });
  });

  test('accepts a JPEG by its content, whatever its name', () => {
    assert.deepEqual(checkQualificationDocument({ fileName: 'id-card.jpeg', bytes: JPEG }), { mime: 'image/jpeg', size: JPEG.length });
    assert.deepEqual(checkQualificationDocument({ fileName: 'scan', bytes: JPEG }), { mime: 'image/jpeg', size: JPEG.length });
  });

  test('accepts a PNG of exactly 500 KB', () => {
    const bytes = png(MAX_DOCUMENT_BYTES - png(1).length + 1);
    assert.equal(bytes.length, MAX_DOCUMENT_BYTES);
    assert.equal(checkQualificationDocument({ fileName: 'big.png', bytes }).size, MAX_DOCUMENT_BYTES);
  });

  test('rejects a PNG one byte over 500 KB with 413, naming the limit and not a size it cannot know', () => {
    const bytes = png(MAX_DOCUMENT_BYTES - png(1).length + 2);
    assert.equal(bytes.length, MAX_DOCUMENT_BYTES + 1);
    const error = rejectsWith(bytes, 'big.png', 'DOCUMENT_TOO_LARGE', 413);
    assert.match(error.message, /is larger than 500\.0 KB, the most a document may be \(512000 bytes\)/);
    assert.doesNotMatch(error.message, /512001/, 'an upload is cut one byte past the limit, so its length is not the file size');
  });

  test('rejects an empty file', () => {
    rejectsWith(Buffer.alloc(0), 'empty.png', 'DOCUMENT_EMPTY', 400);
  });

  test('rejects a GIF renamed .png with 415', () => {
    const error = rejectsWith(GIF, 'license.png', 'DOCUMENT_NOT_IMAGE', 415);
    assert.match(error.message, /Only PNG or JPEG/);
  });

  test('rejects a PDF named .png', () => {
    rejectsWith(PDF, 'license.png', 'DOCUMENT_NOT_IMAGE', 415);
  });

  test('rejects a PNG signature without an IHDR chunk, and a bare JPEG start-of-image', () => {
    rejectsWith(png().subarray(0, 8), 'cut.png', 'DOCUMENT_NOT_IMAGE', 415);
    rejectsWith(Buffer.from([0xff, 0xd8, 0xff, 0xd9, 0x00, 0x00]), 'cut.jpg', 'DOCUMENT_NOT_IMAGE', 415);
    rejectsWith(JPEG.subarray(0, 10), 'cut.jpg', 'DOCUMENT_NOT_IMAGE', 415);
  });
});
