/**
 * PostgreSQL may close certdesk's connections at any time (a restart, a
 * failover, an administrator, idle_session_timeout) or refuse new ones for a
 * while. The service keeps running, answers 503 DATABASE_UNAVAILABLE while the
 * database cannot be reached (STORE_COMMIT_FAILED when a connection was lost
 * between a COMMIT and the flush that makes it durable), and works again as
 * soon as it can.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { backends, pgAdminUrl, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { expectError, expectOk } from '../support/flows.js';

describe('PostgreSQL connections lost and refused', { skip: (await backends()).includes('postgres') ? false : 'PostgreSQL is not reachable' }, () => {
  let service: CertdeskProcess;
  let admin: ApiClient;
  let pgAdmin: pg.Client;
  let database: string;

  before(async () => {
    service = await startCertdesk({ backend: 'postgres' });
    admin = await service.user('ops@example.com', 'admin');
    database = new URL(service.databaseUrl ?? '').pathname.slice(1);
    pgAdmin = new pg.Client({ connectionString: pgAdminUrl() });
    await pgAdmin.connect();
  });

  after(async () => {
    await pgAdmin?.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await pgAdmin?.end();
    await service?.stop();
  });

  const terminateConnections = async () => {
    const { rowCount } = await pgAdmin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
    return rowCount ?? 0;
  };
  const stillRunning = () => assert.equal(service.exitCode(), null, `certdesk exited:\n${service.output()}`);

  test('connections closed by the server are replaced; the service keeps running', async () => {
    const grant = () => admin.post('/api/v1/instances', { owner: 'ops@example.com', product: 'dv', domainType: 'single' });
    assert.equal((await grant()).status, 201);
    assert.ok((await terminateConnections()) > 0, 'certdesk had connections to close');
    await sleep(300);
    stillRunning();
    const created = (await grant()).body;
    assert.ok(created.id, JSON.stringify(created));
    const listed = await expectOk(admin.get('/api/v1/instances'));
    assert.ok(listed.items.some((i: { id: string }) => i.id === created.id), 'the instance made after the loss is stored');
  });

  test('connections closed under load: every request is stored (201) or answered 503 (retry, or check whether it was stored), and the service keeps running', async () => {
    const statuses = new Map<number, number>();
    let stop = false;
    const grants = Promise.all(
      Array.from({ length: 12 }, async () => {
        while (!stop) {
          const res = await admin.post('/api/v1/instances', { owner: 'ops@example.com', product: 'dv', domainType: 'single' });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          // A connection lost before its COMMIT: retry. Lost after the COMMIT but before the flush of the log: the change may be there or not.
          if (res.status === 503) assert.ok(['DATABASE_UNAVAILABLE', 'STORE_COMMIT_FAILED'].includes(res.body.error.code), JSON.stringify(res.body));
          if (res.body?.error?.code === 'STORE_COMMIT_FAILED') assert.match(res.body.error.message, /check whether the change is there/);
        }
      }),
    );
    for (let round = 0; round < 6; round++) {
      await sleep(120);
      await terminateConnections();
    }
    await sleep(200);
    stop = true;
    await grants;
    stillRunning();
    assert.deepEqual([...statuses.keys()].filter((status) => status !== 201 && status !== 503), [], `statuses seen: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(201) ?? 0) > 0, 'instances were stored between the losses');
    await expectOk(admin.get('/api/v1/instances'));
  });

  test('while the database refuses connections, requests get 503 DATABASE_UNAVAILABLE; afterwards they work again', async () => {
    await pgAdmin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    await terminateConnections();
    await sleep(300);
    const refused = await expectError(admin.get('/api/v1/instances'), 503, 'DATABASE_UNAVAILABLE');
    assert.match(refused.message, /retry/);
    // An ACME request that reads the database (the directory does not).
    const acme = await service.anonymous().get('/acme/renewal-info/AAAA.AQ');
    assert.equal(acme.status, 503, JSON.stringify(acme.body));
    assert.equal(acme.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.match(acme.body.detail, /retry/, 'ACME clients get a problem document that says to retry');
    stillRunning();
    await pgAdmin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    await expectOk(admin.get('/api/v1/instances'));
    stillRunning();
  });
});
