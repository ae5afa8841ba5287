import assert from 'node:assert/strict';
import { test } from 'node:test';
import { databaseUnavailable, isConnectionLoss } from '../../src/store/database_unavailable.js';

const withCode = (code: string, message = 'driver error') => Object.assign(new Error(message), { code });

test('a lost or refused connection is told apart from a refused statement', () => {
  for (const code of ['08006', '08001', '08003', '08P01', '57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND']) {
    assert.equal(isConnectionLoss(withCode(code)), true, code);
  }
  assert.equal(isConnectionLoss(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isConnectionLoss(new Error('Connection terminated')), true);
  assert.equal(isConnectionLoss(new Error('Client has encountered a connection error and is not queryable')), true);
});

test('statement errors, other failures and non-errors are not a lost connection', () => {
  for (const code of ['23505', '42601', '40001', '57014', '55000', 'ERR_INVALID_ARG_TYPE', '0800', '080000']) {
    assert.equal(isConnectionLoss(withCode(code)), false, code);
  }
  assert.equal(isConnectionLoss(new Error('duplicate key value violates unique constraint')), false);
  assert.equal(isConnectionLoss(new Error('the Connection terminated early in a message')), false);
  for (const value of [null, undefined, 'Connection terminated', 42, {}]) assert.equal(isConnectionLoss(value), false, String(value));
});

test('the caller is told to retry with 503 DATABASE_UNAVAILABLE', () => {
  const error = databaseUnavailable();
  assert.equal(error.status, 503);
  assert.equal(error.code, 'DATABASE_UNAVAILABLE');
  assert.match(error.message, /retry/);
});
