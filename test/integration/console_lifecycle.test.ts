/**
 * More of the console in Debian's Chromium: the EV two-reviewer rule at the
 * reviewer desk, withdrawing and revoking from the certificate page, and the
 * language switch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import type { Page } from 'playwright-core';
import { clickExpectingOk, consoleUser, formItem, launchChromium, PASSWORD, signIn, type ConsoleBrowser } from '../support/browser.js';
import { startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectOk, grant, organization, tinyPng, uploadDocument } from '../support/flows.js';
import { requireTool } from '../support/tools.js';
import { createCsr } from '../../src/pki/csr.js';
import { generateKeyPair } from '../../src/pki/keys.js';

/** Presses Tab until the focused element matches the CSS selector (it may already), as a keyboard user would. */
async function tabTo(page: Page, selector: string, maxPresses = 60): Promise<void> {
  for (let i = 0; i < maxPresses; i++) {
    if (await page.locator(`${selector}:focus`).count()) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector} after ${maxPresses} presses`);
}

describe('console lifecycle in Chromium', () => {
  let dns: Bind9Server;
  let service: CertdeskProcess;
  let chrome: ConsoleBrowser;
  let admin: ApiClient;
  let sue: ApiClient;

  before(async () => {
    dns = await startBind9({ zones: ['example.com'] });
    service = await startCertdesk({ resolvers: [dns.address] });
    admin = await consoleUser(service, 'ops@example.com', 'admin');
    sue = await consoleUser(service, 'sue@example.com', 'subscriber');
    chrome = await launchChromium();
  });

  after(async () => {
    await chrome?.close();
    await service?.stop();
    await dns?.stop();
  });

  /** Publishes every TXT record of the instance and verifies over the API. */
  async function prove(id: string, detail: any): Promise<void> {
    for (const v of detail.validation) await dns.addRecord(v.dns.name, 'TXT', v.dns.value);
    await expectOk(sue.post(`/api/v1/instances/${id}/verify`));
  }

  test('EV: the desk shows the first approval and no second Approve for the same reviewer; a second reviewer issues', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    await consoleUser(service, 'rita@ca.example', 'reviewer');
    await consoleUser(service, 'ron@ca.example', 'reviewer');
    const id = await grant(admin, 'sue@example.com', 'ev', 'single');
    await expectOk(sue.put(`/api/v1/instances/${id}/application`, { domains: ['ev.example.com'], csr: { mode: 'auto' }, contact: { ...contact, email: 'sue@example.com' }, organization }));
    await expectOk(uploadDocument(sue, id, tinyPng, 'license.png'), 201);
    const submitted = await expectOk(sue.post(`/api/v1/instances/${id}/submit`));
    const mail = (await expectOk(admin.get('/api/v1/outbox'))).items.find((m: any) => m.to === 'sue@example.com' && m.text.includes(id));
    await expectOk(service.anonymous().post('/api/v1/confirmations', { token: /confirm-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1] }));
    await prove(id, submitted);

    const rita = await (await chrome.context()).newPage();
    await signIn(rita, service.url, 'rita@ca.example', `/reviews/${id}`);
    await rita.getByTestId('approve').click();
    const notice = rita.getByTestId('first-approval');
    await notice.waitFor();
    assert.match(await notice.innerText(), /First approval by rita@ca\.example/);
    assert.equal(await rita.getByTestId('approve').isDisabled(), true, 'the reviewer who approved cannot approve again');
    assert.equal((await expectOk(sue.get(`/api/v1/instances/${id}`))).status, 'under_review', 'one reviewer cannot approve EV alone');

    const ron = await (await chrome.context()).newPage();
    await signIn(ron, service.url, 'ron@ca.example', `/reviews/${id}`);
    assert.match(await ron.getByTestId('first-approval').innerText(), /rita@ca\.example/);
    await ron.getByTestId('approve').click();
    await ron.locator('[data-status="issued"]').waitFor();
    assert.equal((await expectOk(sue.get(`/api/v1/instances/${id}`))).status, 'issued');
  });

  test('signing out, or a session that ends elsewhere, brings back the sign-in form', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const page = await (await chrome.context()).newPage();
    await signIn(page, service.url, 'sue@example.com', '/certificates');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);

    await signIn(page, service.url, 'sue@example.com', '/certificates');
    await page.context().clearCookies();
    await page.getByRole('menuitem', { name: 'Overview' }).click();
    await page.getByLabel('Email').waitFor();
  });

  test('an admin adds a user in the console, is told a password is needed, and the user signs in with it', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const page = await (await chrome.context()).newPage();
    await signIn(page, service.url, 'ops@example.com', '/admin/users');
    const card = page.locator('.ant-card').filter({ has: page.locator('.ant-card-head', { hasText: 'Add user' }) });
    await card.getByLabel('Email').fill('new.user@example.com');
    await card.getByRole('button', { name: 'Add user' }).click();
    await card.getByText('Give a password of at least 10 characters').waitFor();
    await card.getByLabel('Password (at least 10 characters)').fill(PASSWORD);
    await card.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('new.user@example.com can now sign in with the password you gave.').waitFor();
    const newcomer = await (await chrome.context()).newPage();
    await signIn(newcomer, service.url, 'new.user@example.com');
  });

  test('a subscriber withdraws a submitted application, reissues an issued certificate, and revokes it with a reason', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const id = await grant(admin, 'sue@example.com', 'dv', 'single');
    await expectOk(sue.put(`/api/v1/instances/${id}/application`, { domains: ['life.example.com'], csr: { mode: 'auto' }, contact: { ...contact, email: 'sue@example.com' } }));
    await expectOk(sue.post(`/api/v1/instances/${id}/submit`));
    const page = await (await chrome.context()).newPage();
    await signIn(page, service.url, 'sue@example.com', `/instances/${id}`);
    await page.locator('[data-action="withdraw"]').first().click();
    await clickExpectingOk(page, page.locator('.ant-popconfirm').getByRole('button', { name: 'OK' }), `/api/v1/instances/${id}/withdraw`);
    await page.locator('[data-status="pending_application"]').first().waitFor();
    assert.equal((await expectOk(sue.get(`/api/v1/instances/${id}`))).application.domains[0].name, 'life.example.com', 'the application is kept');

    await prove(id, await expectOk(sue.post(`/api/v1/instances/${id}/submit`)));
    await page.reload();
    await page.locator('[data-status="issued"]').first().waitFor();
    const firstSerial = (await expectOk(sue.get(`/api/v1/instances/${id}`))).certificate.serial;
    await page.locator('[data-action="reissue"]').first().click();
    await clickExpectingOk(page, page.locator('.ant-popconfirm').getByRole('button', { name: 'OK' }), `/api/v1/instances/${id}/reissue`);
    assert.notEqual((await expectOk(sue.get(`/api/v1/instances/${id}`))).certificate.serial, firstSerial, 'Reissue gave the instance a new certificate');
    await page.locator('[data-status="issued"]').first().waitFor();
    await page.locator('[data-action="revoke"]').first().click();
    const dialog = page.getByRole('dialog', { name: 'Revoke' });
    await dialog.getByLabel('Reason').click();
    await page.locator('.ant-select-item-option', { hasText: 'Key compromised' }).click();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('[data-status="revoked"]').first().waitFor();
    const cert = await expectOk(sue.get(`/api/v1/instances/${id}`));
    assert.equal(cert.status, 'revoked');
    assert.equal(cert.certificate.revocationReason, 'keyCompromise');
  });

  test('combine a wildcard and a single OV instance, fill the one application from saved profiles, and check a pasted CSR before saving', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const wildcard = await grant(admin, 'sue@example.com', 'ov', 'wildcard');
    const single = await grant(admin, 'sue@example.com', 'ov', 'single');
    const sueContact = { ...contact, name: 'Sue Saved', email: 'sue@example.com' };
    await expectOk(sue.post('/api/v1/profiles', { kind: 'contact', name: 'Sue at work', data: sueContact }), 201);
    await expectOk(sue.post('/api/v1/profiles', { kind: 'organization', name: 'Example Trading', data: organization }), 201);

    const page = await (await chrome.context()).newPage();
    await signIn(page, service.url, 'sue@example.com', '/certificates');
    await page.getByRole('button', { name: 'Combine certificates' }).click();
    const combine = page.getByRole('dialog', { name: 'Combine certificates' });
    await combine.getByText(wildcard).click();
    await combine.getByText(single).click();
    await combine.getByRole('button', { name: 'Combine' }).click();
    await combine.waitFor({ state: 'hidden' });
    const holder = await expectOk(sue.get(`/api/v1/instances/${wildcard}`));
    assert.deepEqual(holder.combinedFrom, [single], 'the first instance picked holds the application');
    assert.deepEqual(holder.quota, { plain: 1, wildcard: 1 });
    await page.locator('tr', { hasText: wildcard }).getByText('Combined: 1 domain(s), 1 wildcard(s)').waitFor();

    await page.goto(`${service.url}/instances/${wildcard}`);
    await page.locator('[data-action="apply"]').first().click();
    const drawer = page.getByRole('dialog', { name: 'Apply for Certificate' });
    await drawer.getByText('This instance binds 1 domain(s) and 1 wildcard(s).').waitFor();
    await drawer.getByLabel('Domains to bind').fill('*.combo.example.com\nwww.example.net');
    await drawer.getByTestId('domains-ok').waitFor();

    await drawer.locator('#contact-profile').click();
    await page.locator('.ant-select-item-option', { hasText: 'Sue at work' }).click();
    assert.equal(await drawer.getByLabel('Applicant name', { exact: true }).inputValue(), 'Sue Saved');
    await drawer.locator('#org-profile').click();
    await page.locator('.ant-select-item-option', { hasText: 'Example Trading' }).click();
    assert.equal(await drawer.getByLabel('Company name', { exact: true }).inputValue(), organization.name);

    await drawer.getByText('Manual (paste your CSR)').click();
    const key = generateKeyPair('ecdsa-p256').privateKeyPem;
    const pem = drawer.getByLabel('CSR (PEM)');
    await pem.fill(createCsr(key, ['*.combo.example.com', 'shop.example.net']));
    await drawer.getByRole('button', { name: 'Check CSR' }).click();
    await formItem(drawer, 'CSR (PEM)').locator('.ant-form-item-explain-error', { hasText: 'missing from the CSR: www.example.net' }).waitFor();
    await pem.fill(createCsr(key, ['*.combo.example.com', 'www.example.net']));
    await drawer.getByRole('button', { name: 'Check CSR' }).click();
    await drawer.getByText(/CSR is valid: ECDSA P-256, names \*\.combo\.example\.com, www\.example\.net/).waitFor();
    // The error clears once the CSR is right (after antd's fade-out).
    await formItem(drawer, 'CSR (PEM)').locator('.ant-form-item-explain-error').waitFor({ state: 'detached' });

    // Waits for the save itself: the text "Saved" is also in the applicant's name.
    await clickExpectingOk(page, drawer.getByRole('button', { name: 'Save draft' }), `/api/v1/instances/${wildcard}/application`);
    await page.getByText('Saved', { exact: true }).first().waitFor();
    const saved = await expectOk(sue.get(`/api/v1/instances/${wildcard}`));
    assert.deepEqual(saved.application.domains.map((d: { name: string }) => d.name).sort(), ['*.combo.example.com', 'www.example.net']);
    assert.equal(saved.application.contact.name, 'Sue Saved');
    assert.equal(saved.application.organization.registrationNumber, organization.registrationNumber);
    assert.equal(saved.application.csr.mode, 'manual');
    assert.equal(saved.status, 'pending_application', 'a draft is not submitted');
  });

  test('keyboard only: sign in and open the apply panel without a mouse', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const id = await grant(admin, 'sue@example.com', 'dv', 'single');
    const page = await (await chrome.context()).newPage();
    await page.goto(`${service.url}/instances/${id}`);
    await tabTo(page, 'input[autocomplete="username"]');
    await page.keyboard.type('sue@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await tabTo(page, '[data-action="apply"]');
    await page.keyboard.press('Enter');
    const drawer = page.getByRole('dialog', { name: 'Apply for Certificate' });
    await drawer.getByLabel('Domains to bind').waitFor();
    await tabTo(page, '[id$="domains"]');
    await page.keyboard.type('keys.example.com');
    assert.equal(await drawer.getByLabel('Domains to bind').inputValue(), 'keys.example.com');
  });

  test('the language switch turns the console into Simplified Chinese', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const page = await (await chrome.context()).newPage();
    await signIn(page, service.url, 'sue@example.com');
    await page.getByText('中文', { exact: true }).click();
    await page.getByRole('menuitem', { name: /概览/ }).waitFor();
    await page.getByRole('button', { name: /退出/ }).waitFor();
  });
});
