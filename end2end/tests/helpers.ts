// Shared steps: wait for hydration, sign in.
import { expect, Page } from '@playwright/test';

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
