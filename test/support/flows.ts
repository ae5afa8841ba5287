/** Request bodies and steps that many integration tests share. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ApiClient } from './certdesk.js';
import { makeTempDir } from './daemon.js';

export const run = promisify(execFile);

export const contact = { name: 'Alice Zhang', email: 'alice@example.com', phone: '+86 571 8502 2088', idNumber: '330106199001011234' };

export const organization = {
  name: 'Example Trading Co., Ltd.',
  type: 'private',
  phone: '+86 571 8888 0000',
  registrationNumber: '91330106MA2B12345X',
  country: 'CN',
  state: 'Zhejiang',
  city: 'Hangzhou',
  address: '969 West Wenyi Road',
  zipCode: '311121',
};

/** The smallest valid PNG (1x1), as a user's scanned document stand-in. */
export const tinyPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

export async function grant(admin: ApiClient, owner: string, product: 'dv' | 'ov' | 'ev', domainType: 'single' | 'wildcard' | 'multi', domainCount?: number): Promise<string> {
  const res = await admin.post('/api/v1/instances', { owner, product, domainType, ...(domainCount ? { domainCount } : {}) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.status, 'pending_application');
  return res.body.id as string;
}

export async function expectOk<T = any>(p: Promise<{ status: number; body: T }>, status = 200): Promise<T> {
  const res = await p;
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
}

export async function expectError(p: Promise<{ status: number; body: any }>, status: number, code: string): Promise<{ code: string; message: string; field?: string }> {
  const res = await p;
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
  assert.ok(typeof res.body.error.message === 'string' && res.body.error.message.length > 10, 'the error message says what to fix');
  return res.body.error;
}

export async function uploadDocument(client: ApiClient, instanceId: string, bytes: Buffer, fileName: string, kind = 'business_license') {
  const form = new FormData();
  form.set('kind', kind);
  form.set('file', new Blob([bytes]), fileName);
  return client.call('POST', `/api/v1/instances/${instanceId}/documents`, form);
}

/** Unzips a download with the real `unzip` and returns the folder. */
export async function unzip(zip: Buffer): Promise<{ dir: string; files: string[]; read(name: string): string }> {
  const dir = makeTempDir('zip');
  const file = path.join(dir, 'bundle.zip');
  writeFileSync(file, zip);
  await run('unzip', ['-q', file, '-d', path.join(dir, 'out')]);
  const { stdout } = await run('unzip', ['-Z1', file]);
  return { dir: path.join(dir, 'out'), files: stdout.trim().split('\n').sort(), read: (name) => readFileSync(path.join(dir, 'out', name), 'utf8') };
}
