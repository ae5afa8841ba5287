/**
 * The console in Debian's Chromium against a real `certdesk serve`: a DV
 * certificate from apply to the Nginx zip with the TXT record in a real bind9,
 * an OV application rejected, fixed and approved at the reviewer desk, and the
 * server's messages shown next to the fields. Saves the README's screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { startBind9, type Bind9Server } from '../support/bind9.js';
import { clickExpectingOk, consoleUser, formItem, launchChromium, SCREENSHOTS, signIn, type ConsoleBrowser } from '../support/browser.js';
import { startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectOk, grant, organization, tinyPng, unzip } from '../support/flows.js';
import { requireTool } from '../support/tools.js';

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

async function fillContact(drawer: Locator, c: typeof contact): Promise<void> {
  await drawer.getByLabel('Applicant name', { exact: true }).fill(c.name);
  await drawer.getByLabel('Applicant email', { exact: true }).fill(c.email);
  await drawer.getByLabel('Applicant phone', { exact: true }).fill(c.phone);
  await drawer.getByLabel('Applicant ID number', { exact: true }).fill(c.idNumber);
}

async function openApply(page: Page, baseUrl: string, instanceId: string): Promise<Locator> {
  await page.goto(`${baseUrl}/instances/${instanceId}`);
  await page.locator('[data-action="apply"], [data-action="resubmit"]').first().click();
  const drawer = page.getByRole('dialog', { name: 'Apply for Certificate' });
  await drawer.getByLabel('Domains to bind').waitFor();
  return drawer;
}

async function confirmFromOutbox(admin: ApiClient, anonymous: ApiClient, to: string, nth: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const mails = (await expectOk(admin.get('/api/v1/outbox'))).items.filter((m: any) => m.to.includes(to) && /confirm-email\?token=/.test(m.text)).reverse();
    const mail = mails[nth];
    if (mail) {
      const token = /confirm-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
      await expectOk(anonymous.post('/api/v1/confirmations', { token }));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no confirmation mail #${nth + 1} for ${to} in the outbox`);
}

describe('console in Chromium', () => {
  let dns: Bind9Server;
  let service: CertdeskProcess;
  let chrome: ConsoleBrowser;
  let admin: ApiClient;

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    dns = await startBind9({ zones: ['example.com', 'example.org'] });
    service = await startCertdesk({ resolvers: [dns.address] });
    admin = await consoleUser(service, 'ops@example.com', 'admin');
    chrome = await launchChromium();
  });

  after(async () => {
    await chrome?.close();
    await service?.stop();
    await dns?.stop();
  });

  test('DV: apply, add the TXT record, Verify now, Issued, download the Nginx zip', async (t) => {
    if (!requireTool(t, 'chromium') || !requireTool(t, 'unzip')) return;
    await consoleUser(service, 'dora@example.com', 'subscriber');
    const id = await grant(admin, 'dora@example.com', 'dv', 'single');
    await grant(admin, 'dora@example.com', 'ov', 'wildcard');
    const context = await chrome.context();
    const page = await context.newPage();
    await signIn(page, service.url, 'dora@example.com');
    await page.getByTestId('count-pending_application').getByText('2').waitFor();
    await shot(page, 'overview');

    await page.goto(`${service.url}/certificates?status=pending_application`);
    await page.locator('tr', { hasText: id }).waitFor();
    await shot(page, 'certificate-list');
    await page.locator('tr', { hasText: id }).locator('[data-action="apply"]').click();
    const drawer = page.getByRole('dialog', { name: 'Apply for Certificate' });
    await drawer.getByLabel('Domains to bind').fill('www.example.com');
    await drawer.getByTestId('domains-ok').waitFor();
    await fillContact(drawer, contact);
    await shot(page, 'apply-panel');
    await drawer.getByTestId('apply-submit').click();

    await page.waitForURL(`**/instances/${id}`);
    const value = (await page.getByTestId('dns-value').first().innerText()).trim();
    const name = (await page.getByTestId('dns-name').first().innerText()).trim();
    assert.equal(name, '_dnsauth.www.example.com');
    await page.getByTestId('verify-now').click();
    const dnsCheck = page.getByTestId('check-dns');
    await dnsCheck.filter({ hasText: /NXDOMAIN|NO_RECORD/ }).waitFor();
    assert.match(await dnsCheck.innerText(), new RegExp(value), 'the expected value is shown next to what was found');
    await shot(page, 'domain-verification');

    await dns.addRecord(name, 'TXT', value);
    await page.getByTestId('verify-now').click();
    await page.locator('[data-status="issued"]').first().waitFor();

    await page.locator('[data-action="download"]').click();
    await page.getByText('www.example.com.pem').waitFor();
    await page.getByText('www.example.com.key').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-zip').click()]);
    assert.equal(download.suggestedFilename(), 'www.example.com_nginx.zip');
    const saved = path.join(service.dataDir, 'download.zip');
    await download.saveAs(saved);
    const bundle = await unzip(readFileSync(saved));
    assert.deepEqual(bundle.files, ['www.example.com.key', 'www.example.com.pem']);
    assert.match(bundle.read('www.example.com.pem'), /BEGIN CERTIFICATE/);
    await page.keyboard.press('Escape');

    await page.goto(`${service.url}/instances/${id}?tab=progress`);
    await page.getByTestId('progress-steps').getByText(/issued/i).first().waitFor();
    await shot(page, 'progress');

    const phone = await chrome.context(390);
    const small = await phone.newPage();
    await signIn(small, service.url, 'dora@example.com', '/certificates');
    await small.locator('[data-status="issued"]').first().waitFor();
    const width = Number(await small.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `no horizontal scrolling of the page at 390 px (scrollWidth ${width})`);
    await shot(small, 'certificate-list-390px');
    await phone.close();
    await context.close();
  });

  test('bad input in the apply panel shows the server message next to the field', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    await consoleUser(service, 'eve@example.com', 'subscriber');
    const id = await grant(admin, 'eve@example.com', 'dv', 'single');
    const context = await chrome.context();
    const page = await context.newPage();
    await signIn(page, service.url, 'eve@example.com');
    const drawer = await openApply(page, service.url, id);

    await drawer.getByLabel('Domains to bind').fill('https://www.example.com/login');
    await formItem(drawer, 'Domains to bind').locator('.ant-form-item-explain-error', { hasText: 'looks like a URL' }).waitFor();
    await drawer.getByLabel('Domains to bind').fill('www.example.com');
    await drawer.getByTestId('domains-ok').waitFor();
    assert.equal(await formItem(drawer, 'Domains to bind').locator('.ant-form-item-explain-error').count(), 0, 'the error clears once the name is right');

    await fillContact(drawer, { ...contact, phone: 'call me maybe' });
    await drawer.getByTestId('apply-submit').click();
    const phoneError = formItem(drawer, 'Applicant phone').locator('.ant-form-item-explain-error');
    await phoneError.waitFor();
    assert.match(await phoneError.innerText(), /"call me maybe" is not a phone number/);
    assert.equal((await expectOk(admin.get(`/api/v1/instances/${id}`))).status, 'pending_application', 'nothing was submitted');
    await context.close();
  });

  test('a browser that asks for less motion gets the panels without animation; one that does not, with it', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    await consoleUser(service, 'mo@example.com', 'subscriber');
    const id = await grant(admin, 'mo@example.com', 'dv', 'single');
    // Counts the CSS animations and transitions that start inside the apply panel while it opens.
    const animationsOnOpening = async (reducedMotion: 'reduce' | 'no-preference') => {
      const context = await chrome.context(1280, reducedMotion);
      await context.addInitScript(`
        window.motionSeen = 0;
        for (const type of ['animationstart', 'transitionstart']) {
          document.addEventListener(type, (e) => { if (e.target.closest?.('.ant-drawer')) window.motionSeen++; }, true);
        }`);
      const page = await context.newPage();
      await signIn(page, service.url, 'mo@example.com');
      await openApply(page, service.url, id);
      await page.waitForTimeout(500);
      const seen = Number(await page.evaluate('window.motionSeen'));
      await context.close();
      return seen;
    };
    assert.equal(await animationsOnOpening('reduce'), 0);
    assert.ok((await animationsOnOpening('no-preference')) > 0, 'without the preference the panel slides in');
  });

  test('OV: rejected at the reviewer desk, the subscriber sees the cause, fixes and resubmits, the reviewer approves', async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const olga = await consoleUser(service, 'olga@example.com', 'subscriber');
    await consoleUser(service, 'rita@ca.example', 'reviewer');
    const id = await grant(admin, 'olga@example.com', 'ov', 'single');
    const subscriber = await (await chrome.context()).newPage();
    await signIn(subscriber, service.url, 'olga@example.com');
    let drawer = await openApply(subscriber, service.url, id);
    await drawer.getByLabel('Domains to bind').fill('www.example.org');
    await fillContact(drawer, { ...contact, email: 'olga@example.com' });
    await drawer.getByLabel('Type of company').click();
    await subscriber.locator('.ant-select-item-option', { hasText: 'Private organization' }).click();
    for (const [label, v] of [
      ['Company name', organization.name],
      ['Company phone', organization.phone],
      ['Company / organization ID', 'WRONG-123'],
      ['Country (ISO code)', organization.country],
      ['State / province', organization.state],
      ['City', organization.city],
      ['Detailed address', organization.address],
      ['Zip code', organization.zipCode],
    ] as const) {
      await drawer.getByLabel(label, { exact: true }).fill(v);
    }
    const fileInput = drawer.locator('input[type="file"]');
    await fileInput.setInputFiles({ name: 'license.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await drawer.getByText('license.txt is not a PNG or JPEG image').waitFor();
    await fileInput.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(600 * 1024, 1) });
    await drawer.getByText(/huge\.png is 600 KB; the limit is 500 KB/).waitFor();
    assert.equal((await expectOk(olga.get(`/api/v1/instances/${id}`))).documents.length, 0, 'refused files were never sent');
    await fileInput.setInputFiles({ name: 'license.png', mimeType: 'image/png', buffer: tinyPng });
    await drawer.getByTestId('documents').getByRole('img', { name: 'license.png' }).waitFor();
    await drawer.getByTestId('apply-submit').click();
    await subscriber.getByText('This application has been submitted to the certificate authority').waitFor();
    await subscriber.getByRole('button', { name: 'OK' }).click();

    await confirmFromOutbox(admin, service.anonymous(), 'olga@example.com', 0);
    const detail = await expectOk(olga.get(`/api/v1/instances/${id}`));
    for (const v of detail.validation) await dns.addRecord(v.dns.name, 'TXT', v.dns.value);
    await expectOk(olga.post(`/api/v1/instances/${id}/verify`));

    const reviewer = await (await chrome.context()).newPage();
    await signIn(reviewer, service.url, 'rita@ca.example', '/reviews');
    await reviewer.getByRole('link', { name: organization.name }).click();
    await reviewer.getByTestId('email-confirmed').waitFor();
    await reviewer.getByRole('img', { name: /license\.png/ }).waitFor();
    await shot(reviewer, 'reviewer-desk');
    await reviewer.getByTestId('reject').click();
    const reason = 'The registration number WRONG-123 does not match the business license.';
    await reviewer.getByLabel('Reason (the subscriber sees it)').fill(reason);
    await clickExpectingOk(reviewer, reviewer.locator('.ant-modal-footer').getByRole('button', { name: 'Reject' }), `/api/v1/reviews/${id}/reject`);
    await reviewer.waitForURL('**/reviews');

    await subscriber.goto(`${service.url}/certificates?status=validation_failed`);
    await subscriber.locator('tr', { hasText: id }).getByText(reason).waitFor();
    await subscriber.locator('tr', { hasText: id }).locator('[data-action="resubmit"]').click();
    drawer = subscriber.getByRole('dialog', { name: 'Apply for Certificate' });
    await drawer.getByTestId('failure-cause').getByText(reason).waitFor();
    assert.equal(await drawer.getByLabel('Domains to bind').inputValue(), 'www.example.org', 'the panel opens prefilled');
    await drawer.getByLabel('Company / organization ID', { exact: true }).fill(organization.registrationNumber);
    await drawer.getByTestId('apply-submit').click();
    await subscriber.getByText('This application has been submitted to the certificate authority').waitFor();
    await confirmFromOutbox(admin, service.anonymous(), 'olga@example.com', 1);

    await reviewer.goto(`${service.url}/reviews/${id}`);
    await reviewer.getByTestId('email-confirmed').waitFor();
    await reviewer.getByLabel('Result').click();
    await reviewer.locator('.ant-select-item-option', { hasText: 'Reached, details confirmed' }).click();
    await reviewer.getByRole('button', { name: 'Record' }).click();
    await reviewer.getByText(/Recorded Reached/).waitFor();
    await reviewer.getByTestId('approve').click();
    await reviewer.locator('[data-status="issued"]').waitFor();

    await subscriber.goto(`${service.url}/instances/${id}`);
    await subscriber.locator('[data-status="issued"]').first().waitFor();
    assert.equal((await expectOk(olga.get(`/api/v1/instances/${id}`))).certificate.names[0], 'www.example.org');

    const adminPage = await (await chrome.context()).newPage();
    await signIn(adminPage, service.url, 'ops@example.com', '/admin/users');
    await adminPage.getByText('olga@example.com').first().waitFor();
    await shot(adminPage, 'admin-users');
    await adminPage.goto(`${service.url}/admin/ca`);
    await adminPage.getByText('Root CA', { exact: true }).waitFor();
    await shot(adminPage, 'admin-ca');
    await adminPage.goto(`${service.url}/admin/outbox`);
    await adminPage.getByText('olga@example.com').first().waitFor();
    await shot(adminPage, 'admin-outbox');
  });
});
