import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KeyVault } from '../../src/ca/key_vault.js';

const secret = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

test('a sealed key opens only with the same master key and for the row it is bound to', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-vault-'));
  try {
    const { vault, created } = KeyVault.openOrCreate(dir);
    assert.equal(created, true);
    assert.equal(statSync(path.join(dir, 'master.key')).mode & 0o777, 0o600);
    const sealed = vault.seal(secret, 'instance:a');
    assert.ok(!sealed.includes('PRIVATE KEY'));
    assert.notEqual(vault.seal(secret, 'instance:a'), sealed, 'a fresh IV every time');
    assert.equal(vault.open(sealed, 'instance:a'), secret);
    assert.throws(() => vault.open(sealed, 'instance:b'), 'bound to its row');
    const [v, iv, tag, body] = sealed.split('.');
    const flipped = Buffer.from(body ?? '', 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.throws(() => vault.open([v, iv, tag, flipped.toString('base64url')].join('.'), 'instance:a'), 'tampering is detected');

    const reopened = KeyVault.openOrCreate(dir);
    assert.equal(reopened.created, false);
    assert.equal(reopened.vault.open(sealed, 'instance:a'), secret, 'the same master key after a restart');
    assert.throws(() => new KeyVault(Buffer.alloc(32, 7)).open(sealed, 'instance:a'), 'another master key cannot open it');
    assert.equal(Buffer.from(readFileSync(path.join(dir, 'master.key'), 'utf8').trim(), 'base64').length, 32);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
