/**
 * The background re-check schedule, driven with a clock the test moves: it
 * issues once the record appears without anyone pressing "verify", backs off
 * between checks, and fails the application when the deadline passes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { addUser } from '../../src/ra/accounts.js';
import type { Actor } from '../../src/ra/actor.js';
import { saveApplication, submitApplication } from '../../src/ra/applications.js';
import type { RaContext } from '../../src/ra/context.js';
import { runDueChecks } from '../../src/ra/dcv.js';
import { instanceDetail } from '../../src/ra/instance_view.js';
import { createInstance } from '../../src/ra/instances.js';
import { openContext } from '../../src/service.js';
import type { OpenedDatabase } from '../../src/store/database.js';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { contact } from '../support/flows.js';

describe('background domain validation schedule', () => {
  const clock = new ManualClock(new Date('2026-06-01T09:00:00Z'));
  let dns: Bind9Server;
  let ctx: RaContext;
  let db: OpenedDatabase;
  let dataDir: string;
  let admin: Actor;
  let alice: Actor;

  before(async () => {
    dns = await startBind9({ zones: ['example.com'] });
    dataDir = mkdtempSync(path.join(tmpdir(), 'certdesk-schedule-'));
    ({ ctx, db } = await openContext({ dataDir, host: '127.0.0.1', port: 8443, clock, logger: createLogger('warn'), settingsOverrides: { dnsResolvers: [dns.address] } }));
    admin = { ...(await addUser(ctx, { email: 'ops@example.com', role: 'admin' })) };
    alice = { ...(await addUser(ctx, { email: 'alice@example.com', role: 'subscriber' })) };
  });

  after(async () => {
    await db?.close();
    await dns?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function submitted(domain: string): Promise<string> {
    const instance = await createInstance(ctx, admin, { owner: alice.email, product: 'dv', domainType: 'single' });
    await saveApplication(ctx, alice, instance.id, { domains: [domain], csr: { mode: 'auto' }, contact });
    await submitApplication(ctx, alice, instance.id);
    return instance.id;
  }

  test('re-checks with backoff and issues when the record appears', async () => {
    const id = await submitted('auto.example.com');
    assert.equal(await runDueChecks(ctx), 1, 'a new submission is checked at once');
    let detail = await instanceDetail(ctx, alice, id);
    assert.equal(detail.status, 'domain_verification');
    assert.equal(detail.validation[0]?.attempts, 1);
    assert.equal(detail.validation[0]?.nextCheckAt, '2026-06-01T09:01:00.000Z', 'next check one minute later');
    assert.equal(await runDueChecks(ctx), 0, 'nothing is due before then');

    clock.advance(60_000);
    assert.equal(await runDueChecks(ctx), 1);
    detail = await instanceDetail(ctx, alice, id);
    assert.equal(detail.validation[0]?.nextCheckAt, '2026-06-01T09:03:00.000Z', 'then two minutes');

    const record = detail.validation[0]?.dns;
    assert.ok(record);
    await dns.addRecord(record.name, 'TXT', record.value);
    clock.advance(120_000);
    await runDueChecks(ctx);
    detail = await instanceDetail(ctx, alice, id);
    assert.equal(detail.status, 'issued', 'issued without the subscriber pressing verify');
    assert.equal(await runDueChecks(ctx), 0);
  });

  test('fails the application with the cause when the deadline passes', async () => {
    const id = await submitted('never.example.com');
    await runDueChecks(ctx);
    clock.advance(31 * 86400_000);
    await runDueChecks(ctx);
    const detail = await instanceDetail(ctx, alice, id);
    assert.equal(detail.status, 'validation_failed');
    assert.match(detail.failureReason ?? '', /never\.example\.com was not proven before the deadline/);
  });
});
