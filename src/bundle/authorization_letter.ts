import { CertdeskError } from '../errors.js';

/**
 * The "Certificate Request Authorization Letter" an OV/EV applicant prints,
 * has signed and stamped by the organization, and uploads as a qualification
 * document. Written as a minimal single-page PDF 1.4 by hand with the standard
 * Helvetica fonts, which every reader has, so no font is embedded and no PDF
 * library is needed. The standard fonts only cover Latin text, so all text is
 * reduced to printable ASCII first.
 */
export interface AuthorizationLetterInput {
  organizationName?: string;
  applicantName?: string;
  applicantEmail?: string;
  applicantPhone?: string;
  domains: string[];
  product: string;
  date: Date;
  caName: string;
}

const PAGE_WIDTH = 595; // A4 in points
const PAGE_HEIGHT = 842;
const MARGIN = 64;
const TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN;
const BODY_SIZE = 11;
const BLANK = '______________________________';
const SHORT_BLANK = '________________________';
/** Where the signature block starts; everything above it must end higher up. */
const SIGNATURE_BLOCK_TOP = 250;
const DOMAIN_FONT_SIZES = [11, 10, 9, 8, 7, 6, 5];

export function authorizationLetterPdf(input: AuthorizationLetterInput): Buffer {
  if (input.domains.length === 0) {
    throw new CertdeskError('AUTHORIZATION_LETTER_NO_DOMAINS', 'The authorization letter needs at least one domain name.', { field: 'domains' });
  }
  return renderPdf(letterContent(input), {
    title: 'Certificate Request Authorization Letter',
    creationDate: input.date,
  });
}

type Font = 'F1' | 'F2'; // F1 Helvetica, F2 Helvetica-Bold

interface Line {
  text: string;
  font: Font;
  size: number;
  x: number;
  y: number;
}

function letterContent(input: AuthorizationLetterInput): string {
  const organization = ascii(input.organizationName) || BLANK;
  const applicant = ascii(input.applicantName) || BLANK;
  const caName = ascii(input.caName);
  const product = ascii(input.product);
  const lines: Line[] = [];
  let y = PAGE_HEIGHT - MARGIN - 18;

  const put = (text: string, font: Font, size: number, x = MARGIN): void => {
    lines.push({ text, font, size, x, y });
    y -= size * 1.45;
  };
  const paragraph = (text: string, size = BODY_SIZE): void => {
    for (const line of wrap(text, size, TEXT_WIDTH)) put(line, 'F1', size);
    y -= size * 0.6;
  };

  put('Certificate Request Authorization Letter', 'F2', 18);
  y -= 10;
  put(`To: ${caName}`, 'F1', BODY_SIZE);
  put(`Date: ${isoDay(input.date)}`, 'F1', BODY_SIZE);
  y -= 8;
  paragraph(
    `We, ${organization} (the "Organization"), hereby authorize the applicant named below to apply to ${caName} ` +
      `on behalf of the Organization for an SSL/TLS certificate (product: ${product}) for the domain names listed in this letter, ` +
      'to submit the certificate request and the documents it requires, and to answer the verification call of the ' +
      'certificate authority.',
  );
  put('Applicant', 'F2', 12);
  put(`Name:   ${applicant}`, 'F1', BODY_SIZE, MARGIN + 16);
  put(`Email:  ${ascii(input.applicantEmail) || BLANK}`, 'F1', BODY_SIZE, MARGIN + 16);
  put(`Phone:  ${ascii(input.applicantPhone) || BLANK}`, 'F1', BODY_SIZE, MARGIN + 16);
  y -= 6;
  put(`Domain names (${input.domains.length})`, 'F2', 12);
  const domainsTop = y;
  const domainText = input.domains.map(ascii).join(', ');
  // Long multi-domain lists get a smaller font so the letter stays one page.
  const closing =
    'The Organization confirms that it controls the domain names above and that the information in the request is ' +
    'true. This authorization ends when the certificate is issued or the request is withdrawn.';
  const fits = DOMAIN_FONT_SIZES.find((size) => {
    const domainHeight = wrap(domainText, size, TEXT_WIDTH - 16).length * size * 1.45 + size * 0.6;
    const closingHeight = wrap(closing, BODY_SIZE, TEXT_WIDTH).length * BODY_SIZE * 1.45;
    return domainsTop - domainHeight - closingHeight - 12 >= SIGNATURE_BLOCK_TOP;
  });
  if (fits === undefined) {
    throw new CertdeskError(
      'AUTHORIZATION_LETTER_TOO_MANY_DOMAINS',
      `The ${input.domains.length} domain names do not fit on a one-page authorization letter; split the request into smaller ones.`,
      { field: 'domains' },
    );
  }
  for (const line of wrap(domainText, fits, TEXT_WIDTH - 16)) put(line, 'F1', fits, MARGIN + 16);
  y -= fits * 0.6 + 6;
  paragraph(closing);

  // Signature block: fields on the left, a box for the seal on the right.
  const sealSize = 150;
  const sealX = PAGE_WIDTH - MARGIN - sealSize;
  const fieldWidth = sealX - MARGIN - 16;
  y = SIGNATURE_BLOCK_TOP;
  put('For the Organization', 'F2', 12);
  y -= 4;
  for (const line of wrap(`Organization: ${organization}`, BODY_SIZE, fieldWidth)) put(line, 'F1', BODY_SIZE);
  for (const label of ['Authorized representative (name, title):', 'Signature:', 'Date:']) {
    y -= 8;
    put(label, 'F1', BODY_SIZE);
    y -= 4;
    put(SHORT_BLANK, 'F1', BODY_SIZE);
  }
  const sealBottom = SIGNATURE_BLOCK_TOP - 20 - sealSize;
  lines.push({ text: 'Company seal / stamp', font: 'F1', size: 9, x: sealX + 8, y: sealBottom + 8 });
  const text = lines
    .map((l) => `BT /${l.font} ${l.size} Tf ${fmt(l.x)} ${fmt(l.y)} Td (${pdfString(l.text)}) Tj ET`)
    .join('\n');
  const sealBox = `0.6 G 0.8 w ${sealX} ${sealBottom} ${sealSize} ${sealSize} re S 0 G`;
  return `${text}\n${sealBox}\n`;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function fmt(n: number): string {
  return n.toFixed(2).replace(/\.?0+$/, '');
}

const SPECIAL_LETTERS: Record<string, string> = {
  ß: 'ss', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D', þ: 'th', Þ: 'Th',
  '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2013': '-', '\u2014': '-', '\u00a0': ' ',
};

/** Reduces text to printable ASCII: accents dropped, a few letters spelled out, anything else becomes '?'. */
function ascii(text: string | undefined): string {
  if (!text) return '';
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, (ch) => SPECIAL_LETTERS[ch] ?? (/\s/.test(ch) ? ' ' : '?'))
    .replace(/\s+/g, ' ')
    .trim();
}

/** Escapes a PDF literal string: backslash and parentheses are the only special characters in ASCII text. */
function pdfString(text: string): string {
  return text.replace(/[\\()]/g, (ch) => `\\${ch}`);
}

// Advance widths of Helvetica (in 1/1000 em) for WinAnsi characters 32..126, from its AFM metrics.
const HELVETICA_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556,
  556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
  778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556,
  278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260,
  334, 584,
];

function textWidth(text: string, size: number): number {
  let units = 0;
  for (let i = 0; i < text.length; i++) units += HELVETICA_WIDTHS[text.charCodeAt(i) - 32] ?? 1000;
  return (units * size) / 1000;
}

/** Greedy word wrap; a word longer than a line (a very long domain name) is broken by characters. */
function wrap(text: string, size: number, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    const candidate = current ? `${current} ${word}` : word;
    if (textWidth(candidate, size) <= width) {
      current = candidate;
      continue;
    }
    if (current) lines.push(current);
    current = word;
    while (textWidth(current, size) > width) {
      let cut = current.length - 1;
      while (cut > 1 && textWidth(current.slice(0, cut), size) > width) cut--;
      lines.push(current.slice(0, cut));
      current = current.slice(cut);
    }
  }
  if (current) lines.push(current);
  return lines;
}

/** Assembles the objects of a one-page PDF and the cross-reference table with their byte offsets. */
function renderPdf(content: string, info: { title: string; creationDate: Date }): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] ` +
      '/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}endstream`,
    `<< /Title (${pdfString(info.title)}) /Producer (certdesk) /CreationDate (${pdfDate(info.creationDate)}) >>`,
  ];
  // The second line's bytes above 127 mark the file as binary for transfer tools (PDF 32000-1, 7.5.2).
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xrefOffset = Buffer.byteLength(body, 'latin1');
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  const trailer = `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 7 0 R >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(body + xref + trailer, 'latin1');
}

function pdfDate(date: Date): string {
  return `D:${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
