// Shared steps (wait for hydration, sign in) and the `test` every spec uses: it fails a test on any console
// error, uncaught page error, failed request or server error in any page the test opens.
import { test as base, expect, BrowserContext, Page } from '@playwright/test';

export { expect };

// Answers a test provokes on purpose (a wrong password answers 401, a bad field 400), which Chromium logs as
// console errors; 5xx answers are never expected.
const expectedStatus = /the server responded with a status of (400|401|403|404|409|429)/;

export const test = base.extend<{ watchdog: void }>({
  watchdog: [
    async ({ browser, context }, use) => {
      const problems: string[] = [];
      const watchPage = (p: Page) => {
        p.on('console', (m) => {
          if (m.type() === 'error' && !expectedStatus.test(m.text())) problems.push(`console error on ${p.url()}: ${m.text()}`);
        });
        p.on('pageerror', (e) => problems.push(`uncaught error on ${p.url()}: ${e.message}`));
        p.on('requestfailed', (r) => {
          const why = r.failure()?.errorText ?? '';
          // Navigating away aborts open requests (the event stream among them): not a failure of the page.
          if (!why.includes('ERR_ABORTED')) problems.push(`request failed: ${r.method()} ${r.url()}: ${why}`);
        });
        p.on('response', (r) => {
          if (r.status() >= 500) problems.push(`server error: ${r.status()} ${r.request().method()} ${r.url()}`);
        });
      };
      const watch = (ctx: BrowserContext) => {
        ctx.pages().forEach(watchPage);
        ctx.on('page', watchPage);
      };
      watch(context);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args: Parameters<typeof newContext>) => {
        const ctx = await newContext(...args);
        watch(ctx);
        return ctx;
      };
      await use();
      browser.newContext = newContext;
      expect(problems, problems.join('\n')).toEqual([]);
    },
    { auto: true },
  ],
});

export async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

export async function signIn(page: Page, username: string, password: string) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((u) => u.pathname === '/');
  await hydrated(page);
  await expect(page.getByTestId('whoami')).toBeVisible();
}

/// Picks the UI language and waits until the server has remembered it (it follows the account).
export async function setLanguage(page: Page, lang: 'en' | 'zh-CN') {
  if ((await page.getByTestId('language').inputValue()) === lang) return;
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/profile') && r.request().method() === 'PATCH'),
    page.getByTestId('language').selectOption(lang),
  ]);
}
