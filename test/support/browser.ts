/**
 * Debian's Chromium (never a downloaded browser) driven by playwright-core,
 * and the console users the browser tests sign in as.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ApiClient, type CertdeskProcess } from './certdesk.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const PASSWORD = 'correct-horse-battery';
/**
 * Where the browser tests save their screenshots: the README's docs/screenshots
 * when CERTDESK_UPDATE_SCREENSHOTS=1, otherwise a temp folder, so a test run
 * leaves the checkout as it was.
 */
export const SCREENSHOTS =
  process.env.CERTDESK_UPDATE_SCREENSHOTS === '1'
    ? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../docs/screenshots')
    : path.join(tmpdir(), 'certdesk-screenshots');

export interface ConsoleBrowser {
  browser: Browser;
  /**
   * A fresh browser profile (own cookies) at the given width. It asks for reduced motion unless told otherwise,
   * so dialogs open without animation and a click never lands on a button still moving into place.
   */
  context(width?: number, reducedMotion?: 'reduce' | 'no-preference'): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<ConsoleBrowser> {
  // Playwright gives the browser a new empty profile of its own.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  return {
    browser,
    async context(width = 1280, reducedMotion = 'reduce') {
      const context = await browser.newContext({ viewport: { width, height: width < 600 ? 844 : 860 }, acceptDownloads: true, locale: 'en-US', reducedMotion });
      context.setDefaultTimeout(15_000);
      return context;
    },
    close: () => browser.close(),
  };
}

/** Adds a user with a password through the CLI and returns an API client holding a token for it. */
export async function consoleUser(service: CertdeskProcess, email: string, role: 'subscriber' | 'reviewer' | 'admin'): Promise<ApiClient> {
  await service.cli(['user', 'add', '--email', email, '--role', role, '--password', PASSWORD]);
  const out = await service.cli(['token', 'create', '--email', email]);
  return new ApiClient(service.url, out.trim().split('\n').pop() ?? '');
}

export async function signIn(page: Page, baseUrl: string, email: string, path = '/'): Promise<void> {
  await page.goto(baseUrl + path);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** The form item around the field labelled `label` inside `scope`, where the field's error shows. */
export function formItem(scope: Locator, label: string): Locator {
  return scope.locator('.ant-form-item').filter({ has: scope.page().getByLabel(label, { exact: true }) }).first();
}

/**
 * Clicks `button` and checks that the request to `apiPath` it sends is answered 200, so a failing step says
 * whether the request was refused (with the server's reply) or never sent.
 */
export async function clickExpectingOk(page: Page, button: Locator, apiPath: string): Promise<void> {
  const replied = page.waitForResponse((response) => new URL(response.url()).pathname === apiPath);
  await button.click();
  const reply = await replied;
  if (reply.status() !== 200) throw new Error(`${apiPath} answered ${reply.status()}: ${await reply.text()}`);
}

