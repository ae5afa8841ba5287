import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keepStoredSmtpPassword, maskSmtpPassword, PASSWORD_MASK } from '../../src/ra/smtp_password.js';

describe('the SMTP password in the smtpUrl setting', () => {
  test('is masked where a URL has one; other values are shown as they are', () => {
    assert.equal(maskSmtpPassword('smtp://certdesk:s3cret@mail.example.com:587'), `smtp://certdesk:${PASSWORD_MASK}@mail.example.com:587`);
    assert.equal(maskSmtpPassword('smtps://u:p%40ss%3Aword@mail.example.com'), `smtps://u:${PASSWORD_MASK}@mail.example.com`);
    for (const value of ['', 'smtp://mail.example.com:25', 'smtp://only-user@mail.example.com', 'not a url']) assert.equal(maskSmtpPassword(value), value);
  });

  test('sent back masked, it keeps the stored password, also with another host or user', () => {
    const stored = 'smtp://certdesk:p%40ss%3Aword@mail.example.com:587';
    assert.equal(keepStoredSmtpPassword(maskSmtpPassword(stored), stored), stored);
    assert.equal(keepStoredSmtpPassword(`smtps://other:${PASSWORD_MASK}@relay.example.net:465`, stored), 'smtps://other:p%40ss%3Aword@relay.example.net:465');
  });

  test('a mask with no stored password leaves none; a new password, no password and other values are taken as sent', () => {
    assert.equal(keepStoredSmtpPassword(`smtp://u:${PASSWORD_MASK}@mail.example.com`, 'smtp://mail.example.com'), 'smtp://u@mail.example.com');
    const stored = 'smtp://certdesk:s3cret@mail.example.com';
    for (const sent of ['smtp://certdesk:new-secret@mail.example.com', 'smtp://mail.example.com', '', 'not a url', 42, null]) assert.equal(keepStoredSmtpPassword(sent, stored), sent);
  });
});
