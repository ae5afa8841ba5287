import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizationLetterPdf } from '../../src/bundle/authorization_letter.js';
import { requireTool } from '../support/tools.js';

test('poppler reads the authorization letter as one A4 page with the organization and every domain', (t) => {
  if (!requireTool(t, 'pdftotext') || !requireTool(t, 'pdfinfo')) return;
  const dir = mkdtempSync(join(tmpdir(), 'certdesk-letter-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const domains = ['www.example.org', 'example.org', 'mail.example.org', ...Array.from({ length: 40 }, (_, i) => `shop${i}.example.org`)];
  const file = join(dir, 'letter.pdf');
  writeFileSync(
    file,
    authorizationLetterPdf({
      organizationName: 'Société Générale (Test) S.A.',
      applicantName: 'Ada Lovelace',
      applicantEmail: 'ada@example.org',
      domains,
      product: 'EV SSL',
      date: new Date('2026-03-04T10:00:00Z'),
      caName: 'certdesk Demo CA',
    }),
  );

  // Poppler repairs a broken xref table silently except for complaints on stderr, so stderr must stay empty.
  const pdfinfo = spawnSync('pdfinfo', [file], { encoding: 'utf8' });
  assert.equal(pdfinfo.status, 0);
  assert.equal(pdfinfo.stderr, '', 'poppler reads the file without repairing it');
  const info = pdfinfo.stdout;
  assert.match(info, /^Pages:\s+1$/m);
  assert.match(info, /^Page size:\s+595 x 842 pts \(A4\)$/m);
  assert.match(info, /^Title:\s+Certificate Request Authorization Letter$/m);

  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  const words = text.split(/[\s,]+/);
  assert.match(text, /Certificate Request Authorization Letter/);
  assert.match(text, /Societe Generale \(Test\) S\.A\./);
  assert.match(text, /Ada Lovelace/);
  for (const domain of domains) assert.ok(words.includes(domain), `pdftotext finds ${domain}`);
  assert.match(text, /Signature:/);
  assert.match(text, /Company seal \/ stamp/);
});
