// The foundation as a user meets it: accounts, quotas, languages, the audit log and its CSV.
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD } from '../playwright.config';
import { test, expect, hydrated, signIn } from './helpers';

test('admin creates a user with a quota; the user sees it in Chinese; the admin audits it all', async ({ browser }) => {
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await signIn(admin, 'admin', ADMIN_PASSWORD);

  await admin.getByTestId('nav-users').click();
  await expect(admin.getByTestId('users-table')).toBeVisible();
  await admin.getByTestId('new-user').click();
  await admin.getByTestId('new-username').fill('mei');
  await admin.getByTestId('new-display-name').fill('Mei <Li> & "co"');
  await admin.getByTestId('new-password').fill('mei-password-1');
  await admin.getByTestId('new-role').selectOption('user');
  await admin.getByTestId('quota-max-vms').fill('3');
  await admin.getByTestId('quota-max-vcpus').fill('4');
  await admin.getByTestId('quota-max-memory').fill('4096');
  await admin.getByTestId('quota-max-disk').fill('50');
  await admin.getByTestId('create-user-submit').click();
  await expect(admin.getByTestId('user-created')).toContainText('mei');
  const row = admin.getByTestId('user-row-mei');
  await expect(row).toContainText('0 / 3');
  await expect(row).toContainText('Mei <Li> & "co"');

  // The new user, in a browser of their own.
  const userCtx = await browser.newContext();
  const user = await userCtx.newPage();
  await signIn(user, 'mei', 'mei-password-1');
  await expect(user.getByTestId('quota-vms-value')).toHaveText('0 / 3');
  await expect(user.getByTestId('quota-vcpus-value')).toHaveText('0 / 4');
  await expect(user.getByTestId('quota-memory-value')).toHaveText('0 / 4096 MiB');
  await expect(user.getByTestId('quota-disk-value')).toHaveText('0 / 50 GiB');
  await expect(user.getByTestId('nav-users')).toHaveCount(0);
  await expect(user.getByTestId('nav-audit')).toHaveCount(0);

  await user.getByTestId('language').selectOption('zh-CN');
  await expect(user.locator('h1')).toHaveText('仪表盘');
  await expect(user.getByTestId('nav')).toContainText('虚拟机');
  await expect(user.getByTestId('logout')).toHaveText('退出登录');
  // The choice is remembered: a fresh load renders Chinese on the server.
  await user.waitForTimeout(300);
  await user.reload();
  await hydrated(user);
  await expect(user.locator('h1')).toHaveText('仪表盘');
  await expect(user.locator('html')).toHaveAttribute('lang', 'zh-CN');

  // A page the user may not see explains why, in their language.
  await user.goto('/users');
  await expect(user.getByTestId('error')).toHaveText('您没有执行此操作的权限。');

  // The admin sees all of it in the audit log.
  await admin.goto('/audit');
  await hydrated(admin);
  const actions = admin.getByTestId('audit-row');
  // In words, not raw names or JSON.
  const created = admin.locator('[data-testid="audit-row"][data-action="user.create"]').first();
  await expect(created).toContainText('Create account');
  await expect(created).toContainText('admin');
  await expect(created).toContainText('username: mei');
  await expect(created).not.toContainText('{"');
  await admin.getByTestId('filter-actor').fill('mei');
  await admin.getByTestId('filter-submit').click();
  await admin.waitForURL(/actor=mei/);
  await hydrated(admin);
  await expect(admin.locator('[data-testid="audit-row"][data-action="auth.login"]')).toHaveCount(1);
  await expect(admin.locator('[data-testid="audit-row"][data-action="profile.update"]')).toHaveCount(1);
  await expect(admin.locator('[data-testid="audit-row"][data-action="user.list"][data-result="denied"]')).toHaveCount(0);

  const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('audit-csv').click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split('\n');
  expect(lines[0]).toBe('id,time,actor,source,action,target,result,details');
  expect(lines.slice(1).every((l) => l.split(',')[2] === 'mei')).toBe(true);
  expect(csv).toContain('profile.update');
  expect(csv).toContain('auth.login');

  await adminCtx.close();
  await userCtx.close();
});

test('a wrong password gets a translated error and no session', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByTestId('language').selectOption('zh-CN');
  await page.getByTestId('login-username').fill('admin');
  await page.getByTestId('login-password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('error')).toHaveText('用户名或密码错误。');
  await page.goto('/');
  await page.waitForURL((u) => u.pathname === '/login');
});

test('the API documentation is served from the binary', async ({ page }) => {
  await page.goto('/api/docs');
  await expect(page.locator('.swagger-ui .title')).toContainText('Hangar API');
  await expect(page.locator('.opblock-summary-path').first()).toBeVisible();
});
