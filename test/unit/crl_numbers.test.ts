import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrlNumbers } from '../../src/ca/crl_numbers.js';

const at = (ms: number) => new Date(1_780_000_000_000 + ms);

test('each CRL of an issuer gets a larger cRLNumber, even within one millisecond or when the clock steps back', () => {
  const numbers = new CrlNumbers<string>();
  const signed = [numbers.next('intermediate', at(0)), numbers.next('intermediate', at(0)), numbers.next('intermediate', at(0)), numbers.next('intermediate', at(-5_000)), numbers.next('intermediate', at(1))];
  for (let i = 1; i < signed.length; i++) assert.ok(signed[i]! > signed[i - 1]!, `${signed[i]} after ${signed[i - 1]}`);
  assert.equal(signed[0], 1_780_000_000_000n, 'milliseconds since the epoch, so numbers keep growing across restarts');
  assert.equal(numbers.next('intermediate', at(60_000)), 1_780_000_060_000n, 'the clock takes over again once it passes the last number');
});

test('issuers are numbered apart', () => {
  const numbers = new CrlNumbers<string>();
  assert.equal(numbers.next('root', at(0)), 1_780_000_000_000n);
  assert.equal(numbers.next('intermediate', at(0)), 1_780_000_000_000n);
  assert.equal(numbers.next('root', at(0)), 1_780_000_000_001n);
});
