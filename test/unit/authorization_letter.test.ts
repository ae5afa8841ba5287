import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizationLetterPdf, type AuthorizationLetterInput } from '../../src/bundle/authorization_letter.js';
import { CertdeskError } from '../../src/errors.js';

const input: AuthorizationLetterInput = {
  organizationName: 'Acme (Widgets) Ltd',
  applicantName: 'Ada Lovelace',
  applicantEmail: 'ada@example.org',
  applicantPhone: '+44 20 7946 0000',
  domains: ['www.example.org', 'shop.example.org'],
  product: 'OV SSL',
  date: new Date('2026-03-04T10:00:00Z'),
  caName: 'certdesk Demo CA',
};

/** The literal strings shown with Tj, unescaped. */
function shownText(pdf: string): string[] {
  return [...pdf.matchAll(/\(((?:[^\\()]|\\.)*)\) Tj/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

describe('authorizationLetterPdf', () => {
  test('writes a PDF 1.4 whose cross-reference table points at every object', () => {
    const pdf = authorizationLetterPdf(input);
    const text = pdf.toString('latin1');
    assert.ok(text.startsWith('%PDF-1.4\n'));
    assert.ok(text.endsWith('%%EOF\n'));

    const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
    assert.equal(text.slice(startxref, startxref + 5), 'xref\n');
    const [, first, count] = /^xref\n(\d+) (\d+)\n/.exec(text.slice(startxref)) ?? [];
    assert.equal(first, '0');
    const entries = text.slice(startxref).split('\n').slice(2, 2 + Number(count));
    assert.equal(entries[0], '0000000000 65535 f ');
    for (const [number, entry] of entries.entries()) {
      assert.equal(entry.length + 1, 20, 'each xref entry is 20 bytes');
      if (number === 0) continue;
      const offset = Number(entry.slice(0, 10));
      assert.equal(text.slice(offset, offset + `${number} 0 obj\n`.length), `${number} 0 obj\n`);
    }
    assert.match(text, new RegExp(`trailer\\n<< /Size ${count} /Root 1 0 R`));
  });

  test('gives the content stream its exact length and one A4 page', () => {
    const text = authorizationLetterPdf(input).toString('latin1');
    const [, length] = /<< \/Length (\d+) >>\nstream\n/.exec(text) ?? [];
    const start = text.indexOf('stream\n') + 'stream\n'.length;
    assert.equal(text.indexOf('endstream'), start + Number(length));
    assert.match(text, /\/Type \/Pages \/Kids \[3 0 R\] \/Count 1/);
    assert.match(text, /\/MediaBox \[0 0 595 842\]/);
  });

  test('names the organization, applicant, domains, CA and date, with blanks to sign, stamp and date', () => {
    const shown = shownText(authorizationLetterPdf(input).toString('latin1')).join('\n');
    for (const expected of [
      'Certificate Request Authorization Letter',
      'Acme (Widgets) Ltd',
      'Ada Lovelace',
      'ada@example.org',
      '+44 20 7946 0000',
      'www.example.org, shop.example.org',
      'certdesk Demo CA',
      'OV SSL',
      '2026-03-04',
      'Signature:',
      'Company seal / stamp',
    ]) {
      assert.ok(shown.includes(expected), `the letter shows "${expected}"`);
    }
  });

  test('escapes parentheses and backslashes and reduces other text to ASCII', () => {
    const pdf = authorizationLetterPdf({ ...input, organizationName: 'Müller & Söhne \\ (Łódź) 株式会社', applicantName: undefined });
    const text = pdf.toString('latin1');
    assert.ok(text.includes('Muller & Sohne \\\\ \\(Lodz\\) ????'));
    const afterBinaryMarker = pdf.subarray(pdf.indexOf('\n', 9) + 1);
    assert.ok(afterBinaryMarker.every((byte) => byte < 0x80), 'everything after the binary marker line is ASCII');
    assert.ok(shownText(text).some((line) => line.startsWith('Name:') && line.includes('_____')), 'a missing applicant name leaves a blank');
  });

  test('shrinks a long domain list to keep the letter on one page, and refuses one that cannot fit', () => {
    const many = Array.from({ length: 120 }, (_, i) => `host-${i}.example.org`);
    const shown = shownText(authorizationLetterPdf({ ...input, domains: many }).toString('latin1')).join(' ');
    assert.ok(many.every((domain) => shown.includes(domain)));
    const tooMany = Array.from({ length: 2000 }, (_, i) => `host-${i}.example.org`);
    assert.throws(
      () => authorizationLetterPdf({ ...input, domains: tooMany }),
      (error: unknown) => error instanceof CertdeskError && error.code === 'AUTHORIZATION_LETTER_TOO_MANY_DOMAINS',
    );
  });
});
