// What a person opens Hangar for: the dashboard (VMs by state, hosts, quota, activity), a user's page with
// their VMs, host facts and the audit log in Chinese, and the app's own page for an unknown address.
import { ADMIN_PASSWORD } from '../playwright.config';
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { adminApi, defineGuest, removeGuest } from './guests';

test('the dashboard, a user page and host facts show what matters, in both languages', async ({ browser, baseURL }) => {
  const suffix = Date.now().toString(36);
  const name = `e2e-${suffix}-dash`;
  const [api, csrf] = await adminApi(baseURL!);
  const headers = { 'X-CSRF-Token': csrf };
  try {
    const created = await (await api.post('/api/v1/users', { headers, data: { username: `xia${suffix}`, password: 'e2e-password-1', role: 'user' } })).json();
    const uuid = defineGuest(name);
    await expect.poll(async () => (await (await api.get(`/api/v1/vms?q=${name}`)).json()).total, { timeout: 20_000 }).toBe(1);
    expect((await api.patch(`/api/v1/vms/${uuid}`, { headers, data: { owner_id: created.id } })).status()).toBe(200);

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await expect(page.getByTestId('dash-vms')).toBeVisible();
    await expect(page.getByTestId('dash-state-shutoff')).toBeVisible();
    await expect(page.getByTestId('dash-hosts')).toContainText('local');
    await expect(page.getByTestId('recent-audit')).toBeVisible();

    await page.goto(`/users/${created.id}`);
    await hydrated(page);
    await expect(page.getByTestId('user-vms')).toContainText(name);

    await setLanguage(page, 'zh-CN');
    await page.goto('/hosts');
    await hydrated(page);
    await page.locator('a', { hasText: 'local' }).first().click();
    await hydrated(page);
    await expect(page.getByTestId('host-cpu')).toContainText('核');
    await expect(page.getByTestId('host-cpu')).not.toContainText('socket');
    await expect(page.getByTestId('host-memory')).toContainText('可用');
    await page.goto('/audit');
    await hydrated(page);
    await expect(page.getByTestId('audit-table')).toContainText('登录');
    await setLanguage(page, 'en');

    // A user's dashboard: their VMs by state and their quota, no hosts, no audit.
    const userCtx = await browser.newContext();
    const user = await userCtx.newPage();
    await signIn(user, `xia${suffix}`, 'e2e-password-1');
    await expect(user.getByTestId('dash-vms')).toContainText('1');
    await expect(user.getByTestId('dash-hosts')).toHaveCount(0);
    await expect(user.getByTestId('recent-audit')).toHaveCount(0);
    await userCtx.close();
    await ctx.close();
  } finally {
    removeGuest(name);
    await api.dispose();
  }
});

test('an unknown address gets the app\'s own page', async ({ page }) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  const r = await page.goto('/no/such/page');
  expect(r?.status()).toBe(404);
  await hydrated(page);
  await expect(page.locator('.center-page h1')).toBeVisible();
  await expect(page.locator('.sidebar')).toHaveCount(0);
  // Site files are served, the build's own list of them is not.
  expect((await page.request.get('/favicon.svg')).status()).toBe(200);
  expect((await page.request.get('/site-files.txt')).status()).toBe(404);
  // The WASM goes gzipped to a client that takes gzip (this page hydrated from it), whole to one that does not.
  const gz = await page.request.get('/pkg/hangar_bg.wasm', { headers: { 'accept-encoding': 'gzip' } });
  const plain = await page.request.get('/pkg/hangar_bg.wasm', { headers: { 'accept-encoding': 'identity' } });
  expect([gz.headers()['content-encoding'], plain.headers()['content-encoding']]).toEqual(['gzip', undefined]);
  expect(gz.headers()['content-type']).toBe('application/wasm');
  expect(Number(gz.headers()['content-length'])).toBeLessThan(Number(plain.headers()['content-length']) / 2);
  expect((await gz.body()).equals(await plain.body())).toBe(true);
});

test('revoking a token asks first and hides its just-shown secret', async ({ browser, baseURL }) => {
  const suffix = Date.now().toString(36);
  const [api, csrf] = await adminApi(baseURL!);
  try {
    const r = await api.post('/api/v1/users', { headers: { 'X-CSRF-Token': csrf }, data: { username: `yu${suffix}`, password: 'e2e-password-1', role: 'user' } });
    expect(r.status()).toBe(201);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, `yu${suffix}`, 'e2e-password-1');

    await page.goto('/profile');
    await hydrated(page);
    await page.getByTestId('token-name').fill('ci');
    await page.getByTestId('token-create').click();
    await expect(page.getByTestId('token-secret')).toBeVisible();
    await page.getByTestId('token-revoke').click();
    await expect(page.getByTestId('token-row')).toHaveCount(1);
    await page.getByTestId('token-revoke-confirm').click();
    await expect(page.getByTestId('token-row')).toHaveCount(0);
    await expect(page.getByTestId('token-secret')).toHaveCount(0);
    await ctx.close();
  } finally {
    await api.dispose();
  }
});
