/**
 * The command line's answers to a wrong data folder, a taken address or an
 * unusable database:
 * exit code 2 and one line naming the problem, its code and what to fix,
 * never a stack trace, a new data folder, or the database password.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { backends, pgAdminUrl, runCli } from '../support/certdesk.js';
import { freePort } from '../support/ports.js';

const STACK_FRAME = /^\s+at /m;

describe('CLI errors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('commands other than serve refuse a folder certdesk never started on, and make nothing there', async () => {
    const missing = path.join(dir, 'mistyped');
    for (const args of [
      ['token', 'create', '--data', missing, '--email', 'admin@certdesk.local'],
      ['user', 'add', '--data', missing, '--email', 'alice@example.com', '--role', 'subscriber'],
      ['acme', 'eab', 'create', '--data', missing, '--email', 'alice@example.com'],
    ]) {
      const { code, stdout, stderr } = await runCli(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, /is not a certdesk data folder .*give --data the folder the service runs with .*\(DATA_FOLDER_MISSING\)/);
      assert.doesNotMatch(stderr, STACK_FRAME);
      assert.equal(stdout, '');
      assert.equal(existsSync(missing), false, 'no data folder, master key or CA was made');
    }
  });

  test('serve on an address something else listens on exits with LISTEN_FAILED, not a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const { code, stderr } = await runCli(['serve', '--data', path.join(dir, 'listen'), '--listen', `127.0.0.1:${port}`]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`could not listen on 127\\.0\\.0\\.1:${port} \\(something else listens there\\); give --listen .*\\(LISTEN_FAILED\\)`));
      assert.doesNotMatch(stderr, STACK_FRAME);
    } finally {
      taken.close();
    }
  });

  test('serve refuses a data folder path that is a file, and a database file that is not a database', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const onFile = await runCli(['serve', '--data', file, '--listen', '127.0.0.1:0']);
    assert.equal(onFile.code, 2, onFile.stderr);
    assert.match(onFile.stderr, /a-file cannot be the data folder .*give --data a folder .*\(DATA_FOLDER_UNUSABLE\)/);
    const damaged = path.join(dir, 'damaged');
    mkdirSync(damaged);
    writeFileSync(path.join(damaged, 'certdesk.db'), randomBytes(8192));
    const onGarbage = await runCli(['serve', '--data', damaged, '--listen', '127.0.0.1:0']);
    assert.equal(onGarbage.code, 2, onGarbage.stderr);
    assert.match(onGarbage.stderr, /cannot open its database .*certdesk\.db \(file is not a database\); restore the file from a backup.*\(DATABASE_UNUSABLE\)/);
    for (const { stderr } of [onFile, onGarbage]) assert.doesNotMatch(stderr, STACK_FRAME);
  });

  test('serve with a PostgreSQL it cannot reach exits with DATABASE_UNREACHABLE and keeps the password to itself', async () => {
    const closed = await freePort();
    const { code, stderr } = await runCli(['serve', '--data', path.join(dir, 'pg-closed'), '--listen', '127.0.0.1:0', '--database', `postgres://certdesk:s3cret-pass@127.0.0.1:${closed}/certdesk`]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`could not use PostgreSQL at 127\\.0\\.0\\.1:${closed}/certdesk as certdesk \\(connect ECONNREFUSED.*check --database.*\\(DATABASE_UNREACHABLE\\)`));
    assert.doesNotMatch(stderr, /s3cret-pass/);
    assert.doesNotMatch(stderr, STACK_FRAME);
  });

  test('a database that does not exist on a running PostgreSQL is named in the error', async (t) => {
    if (!(await backends()).includes('postgres')) return t.skip('PostgreSQL is not reachable');
    const url = new URL(pgAdminUrl());
    url.pathname = '/certdesk_no_such_database';
    const started = await runCli(['serve', '--data', path.join(dir, 'pg-missing-db'), '--listen', '127.0.0.1:0', '--database', url.href]);
    assert.equal(started.code, 2, started.stderr);
    assert.match(started.stderr, /database "certdesk_no_such_database" does not exist.*\(DATABASE_UNREACHABLE\)/);
    assert.doesNotMatch(started.stderr, STACK_FRAME);
  });
});
