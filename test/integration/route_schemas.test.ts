/** Route schemas check requests and write replies: a bad request is refused with the field it got wrong, and a reply carries only what its schema lists. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/log.js';
import { startService, type RunningService } from '../../src/service.js';

describe('route schemas', () => {
  let dir: string;
  let service: RunningService;
  let token: string;
  let admin: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'certdesk-schemas-'));
    service = await startService({ dataDir: dir, host: '127.0.0.1', port: 0, logger: createLogger('silent') });
    const { adminEmail, adminPassword } = service.firstStart ?? assert.fail('a new data folder creates the admin');
    admin = adminEmail;
    const signIn = await service.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { email: adminEmail, password: adminPassword } });
    assert.equal(signIn.statusCode, 200, signIn.body);
    token = (signIn.json() as { token: string }).token;
  });

  after(async () => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a request that breaks its route schema is refused with the field to fix', async () => {
    const res = await service.app.inject({ method: 'POST', url: '/api/v1/instances', headers: { authorization: `Bearer ${token}` }, payload: { product: 'dv', domainType: 'single', termMonths: 'twelve' } });
    assert.equal(res.statusCode, 400);
    const { error } = res.json() as { error: { code: string; field?: string } };
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(error.field, 'body.termMonths');
  });

  test('a list reply follows its response schema', async () => {
    const res = await service.app.inject({ method: 'GET', url: '/api/v1/acme/eab', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { items: [] });
  });

  test('the OpenAPI document states the success status each operation answers with, and its error body', async () => {
    const doc = (await service.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, statuses: Object.keys(op.responses) })));
    assert.ok(operations.length > 40, `${operations.length} operations`);
    for (const { name, statuses } of operations) {
      assert.equal(statuses.filter((s) => s.startsWith('2')).length, 1, `${name} documents one success status: ${statuses}`);
      assert.ok(statuses.includes('400') && statuses.includes('404'), `${name} documents its errors: ${statuses}`);
    }
    const successOf = (name: string) => operations.find((o) => o.name === name)?.statuses.find((s) => s.startsWith('2'));
    assert.equal(successOf('POST /api/v1/instances'), '201');
    assert.equal(successOf('POST /api/v1/instances/{id}/documents'), '201');
    assert.equal(successOf('DELETE /api/v1/instances/{id}/documents/{documentId}'), '204');
    assert.equal(successOf('POST /api/v1/users'), '201');
    assert.equal(successOf('DELETE /api/v1/profiles/{id}'), '204');
    assert.equal(successOf('GET /api/v1/instances'), '200');
  });

  test('a reply documented without a schema is written whole', async () => {
    const res = await service.app.inject({ method: 'POST', url: '/api/v1/instances', headers: { authorization: `Bearer ${token}` }, payload: { owner: admin, product: 'dv', domainType: 'single' } });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json() as Record<string, unknown>;
    for (const field of ['id', 'owner', 'product', 'status', 'actions', 'validation', 'createdAt']) assert.ok(field in created, `${field} in ${Object.keys(created)}`);
  });
});
