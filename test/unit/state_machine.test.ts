import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CertdeskError } from '../../src/errors.js';
import { availableActions, isAllowed, nextStatus, STATUSES, type LifecycleAction } from '../../src/ra/state_machine.js';
import type { InstanceStatus, Product } from '../../src/store/schema.js';

const ACTIONS: LifecycleAction[] = ['edit', 'combine', 'submit', 'verify', 'confirm_email', 'review', 'issue', 'fail', 'withdraw', 'revoke', 'reissue', 'download'];
const PRODUCTS: Product[] = ['dv', 'ov', 'ev'];

/** The whole table: for every status and action, where it goes (or null when refused). */
const EXPECTED: Record<InstanceStatus, Partial<Record<LifecycleAction, InstanceStatus | 'by-product'>>> = {
  pending_application: { edit: 'pending_application', combine: 'pending_application', submit: 'by-product' },
  domain_verification: { verify: 'domain_verification', issue: 'issued', fail: 'validation_failed', withdraw: 'pending_application', revoke: 'domain_verification', download: 'domain_verification' },
  under_review: { verify: 'under_review', confirm_email: 'under_review', review: 'under_review', issue: 'issued', fail: 'validation_failed', withdraw: 'pending_application', revoke: 'under_review', download: 'under_review' },
  issued: { revoke: 'revoked', reissue: 'by-product', download: 'issued' },
  validation_failed: { edit: 'validation_failed', submit: 'by-product', withdraw: 'pending_application', revoke: 'validation_failed', download: 'validation_failed' },
  revoked: { download: 'revoked' },
};

describe('instance state machine', () => {
  for (const status of STATUSES) {
    for (const action of ACTIONS) {
      for (const product of PRODUCTS) {
        const expected = EXPECTED[status][action];
        test(`${status} --${action}--> ${expected ?? 'refused'} (${product})`, () => {
          if (expected === undefined) {
            assert.equal(isAllowed(action, status), false);
            assert.throws(
              () => nextStatus(status, action, product),
              (err: unknown) => err instanceof CertdeskError && err.status === 409 && err.message.length > 20,
            );
            return;
          }
          const target = expected === 'by-product' ? (product === 'dv' ? 'domain_verification' : 'under_review') : expected;
          assert.equal(nextStatus(status, action, product), target);
        });
      }
    }
  }

  test('withdrawing an issued or revoked certificate is refused with its own code', () => {
    for (const status of ['issued', 'revoked'] as const) {
      assert.throws(() => nextStatus(status, 'withdraw', 'dv'), (err: unknown) => err instanceof CertdeskError && err.code === 'WITHDRAW_AFTER_ISSUANCE');
    }
  });

  test('other refusals say which status the instance is in', () => {
    assert.throws(() => nextStatus('pending_application', 'verify', 'dv'), (err: unknown) => err instanceof CertdeskError && err.code === 'INVALID_STATE' && /pending_application/.test(err.message));
  });

  test('editing an issued or revoked certificate\'s application is refused without advising a withdrawal that would be refused too', () => {
    for (const status of ['issued', 'revoked'] as const) {
      assert.throws(
        () => nextStatus(status, 'edit', 'ov'),
        (err: unknown) => err instanceof CertdeskError && err.code === 'INVALID_STATE' && /apply with another instance/.test(err.message) && !/withdraw/.test(err.message),
      );
    }
    assert.throws(() => nextStatus('under_review', 'edit', 'ov'), /withdraw it first/);
  });

  test('the actions offered to a subscriber never include the CA-side ones', () => {
    for (const product of PRODUCTS) {
      assert.deepEqual(availableActions('domain_verification', product, false), ['verify', 'withdraw']);
      assert.deepEqual(availableActions('under_review', product, false), ['verify', 'withdraw']);
      assert.deepEqual(availableActions('issued', product, true), ['revoke', 'reissue', 'download']);
      assert.deepEqual(availableActions('validation_failed', product, false), ['edit', 'submit', 'withdraw']);
      assert.deepEqual(availableActions('revoked', product, true), ['download']);
    }
  });

  test('an instance being reissued keeps its certificate downloadable and revocable, and only an instance with a certificate offers either', () => {
    assert.deepEqual(availableActions('domain_verification', 'dv', true), ['verify', 'withdraw', 'revoke', 'download']);
    assert.deepEqual(availableActions('under_review', 'ov', true), ['verify', 'withdraw', 'revoke', 'download']);
    assert.deepEqual(availableActions('validation_failed', 'dv', true), ['edit', 'submit', 'withdraw', 'revoke', 'download']);
    assert.equal(nextStatus('issued', 'reissue', 'dv'), 'domain_verification');
    assert.equal(nextStatus('issued', 'reissue', 'ev'), 'under_review');
    assert.throws(() => nextStatus('revoked', 'reissue', 'dv'), /Only an issued certificate can be reissued/);
  });

  test('combine is offered for OV and EV instances only, as the seed describes', () => {
    assert.deepEqual(availableActions('pending_application', 'dv', false), ['edit', 'submit']);
    assert.deepEqual(availableActions('pending_application', 'ov', false), ['edit', 'combine', 'submit']);
    assert.deepEqual(availableActions('pending_application', 'ev', false), ['edit', 'combine', 'submit']);
  });
});
