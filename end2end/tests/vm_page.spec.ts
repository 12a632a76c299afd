// The VM page and list as people use them: actions that fit the state, confirmation before losing work, edits
// with errors beside the field, an owner picked by name, live panels, batch results by name, and Chinese.
import { ADMIN_PASSWORD } from '../playwright.config';
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { adminApi, defineGuest, removeGuest } from './guests';

test('the VM page offers only what fits, asks before forcing off, and shows every change at once', async ({ browser, baseURL }) => {
  const suffix = Date.now().toString(36);
  const name = `e2e-${suffix}-page`;
  const [api, csrf] = await adminApi(baseURL!);
  const headers = { 'X-CSRF-Token': csrf };
  try {
    const r = await api.post('/api/v1/users', { headers, data: { username: `wen${suffix}`, display_name: 'Wen Li', password: 'e2e-password-1', role: 'user' } });
    expect(r.status()).toBe(201);
    const uuid = defineGuest(name);
    await expect.poll(async () => (await (await api.get(`/api/v1/vms?q=${name}`)).json()).total, { timeout: 20_000 }).toBe(1);

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await setLanguage(page, 'en');
    await page.goto(`/vms/${uuid}`);
    await hydrated(page);
    await expect(page.getByTestId('vm-state')).toHaveAttribute('data-state', 'shutoff');
    // Only Start fits a shut-off VM; the rest are there but disabled.
    await expect(page.getByTestId('action-start')).toBeEnabled();
    for (const a of ['shutdown', 'reboot', 'pause', 'resume', 'reset', 'poweroff']) {
      await expect(page.getByTestId(`action-${a}`)).toBeDisabled();
    }

    // An empty memory field is an error beside the field, and nothing is saved.
    await page.getByTestId('vm-edit-memory').fill('');
    await page.getByTestId('vm-save').click();
    await expect(page.getByTestId('field-error-memory_mib')).toContainText('16');
    await expect(page.getByTestId('vm-saved')).toHaveCount(0);
    await page.getByTestId('vm-edit-memory').fill('128');
    await page.getByTestId('vm-save').click();
    await expect(page.getByTestId('vm-nothing-to-save')).toBeVisible();

    // The owner is picked by name; every panel shows the result without a reload.
    await page.getByTestId('vm-edit-owner').selectOption({ label: `Wen Li (wen${suffix})` });
    await page.getByTestId('vm-edit-memory').fill('96');
    await page.getByTestId('vm-edit-tags').fill('web, e2e');
    await page.getByTestId('vm-save').click();
    await expect(page.getByTestId('vm-saved')).toBeVisible();
    await expect(page.getByTestId('vm-owner')).toHaveText(`wen${suffix}`);
    await expect(page.getByTestId('vm-memory')).toHaveText('96 / 128 MiB');
    await expect(page.getByTestId('vm-tags')).toContainText('e2e');

    // Start, then force off: asked first, and the buttons follow the state.
    await page.getByTestId('action-start').click();
    await expect(page.getByTestId('vm-state')).toHaveAttribute('data-state', 'running');
    await expect(page.getByTestId('action-start')).toBeDisabled();
    await expect(page.getByTestId('vm-uptime')).toContainText('s');
    await page.getByTestId('action-poweroff').click();
    await expect(page.getByTestId('action-confirm')).toBeVisible();
    await expect(page.getByTestId('vm-state')).toHaveAttribute('data-state', 'running');
    await page.getByTestId('action-confirm-yes').click();
    await expect(page.getByTestId('vm-state')).toHaveAttribute('data-state', 'shutoff');
    // The history is in words and updates live.
    await expect(page.getByTestId('vm-history')).toContainText('Force off');
    await expect(page.getByTestId('vm-history')).toContainText('Start');

    // Delete with disks: the page says what happened to each disk.
    await page.getByTestId('vm-delete').click();
    await page.getByTestId('vm-delete-disks').check();
    await page.getByTestId('vm-delete-confirm').click();
    await expect(page.getByTestId('vm-deleted-report')).toBeVisible();
    await ctx.close();
  } finally {
    removeGuest(name);
    await api.dispose();
  }
});

test('in Chinese: states, history, field rules and batch results by name', async ({ browser, baseURL }) => {
  const suffix = Date.now().toString(36);
  const names = [`e2e-${suffix}-zh1`, `e2e-${suffix}-zh2`];
  const [api] = await adminApi(baseURL!);
  try {
    const uuids = names.map(defineGuest);
    await expect.poll(async () => (await (await api.get(`/api/v1/vms?q=${suffix}`)).json()).total, { timeout: 20_000 }).toBe(2);
    const ctx = await browser.newContext({ locale: 'zh-CN' });
    const page = await ctx.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await setLanguage(page, 'zh-CN');
    await page.goto(`/vms?q=${suffix}`);
    await hydrated(page);
    await expect(page.getByTestId(`vm-row-${names[0]}`).getByTestId('vm-state')).toHaveText('已关机');
    // Select all: the header box follows the rows.
    await page.getByTestId('vm-select-all').check();
    await expect(page.getByTestId('vm-select')).toHaveCount(2);
    for (const box of await page.getByTestId('vm-select').all()) await expect(box).toBeChecked();
    await page.getByTestId('vm-select').first().uncheck();
    await expect(page.getByTestId('vm-select-all')).not.toBeChecked();
    await page.getByTestId('vm-select-all').check();
    await page.getByTestId('batch-start').click();
    const results = page.getByTestId('batch-results');
    await expect(results).toContainText(names[0]);
    await expect(results).toContainText(names[1]);
    await expect(results).toContainText('运行中');
    await expect(results).not.toContainText('{');
    await page.getByTestId('batch-poweroff').click();
    // Asked first, like one VM.
    await expect(page.getByTestId('batch-results')).toContainText('运行中');
    await page.getByTestId('batch-poweroff-confirm').click();
    await expect(page.getByTestId('batch-results')).toContainText('已关机');

    await page.goto(`/vms/${uuids[0]}`);
    await hydrated(page);
    await expect(page.getByTestId('vm-history')).toContainText('启动');
    await page.getByTestId('vm-edit-name').fill('bad name!');
    await page.getByTestId('vm-save').click();
    await expect(page.getByTestId('field-error-name')).toContainText('字母');
    // What was typed stays, next to the reason it was refused.
    await page.waitForTimeout(500);
    await expect(page.getByTestId('vm-edit-name')).toHaveValue('bad name!');
    await setLanguage(page, 'en');
    await ctx.close();
  } finally {
    names.forEach(removeGuest);
    await api.dispose();
  }
});

test('the profile page hydrates cleanly on every load and the avatar upload says it worked', async ({ page }) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  // The watchdog fails the test on any console error, such as a hydration panic.
  for (let i = 0; i < 20; i++) {
    await page.goto('/profile');
    await hydrated(page);
    await expect(page.getByTestId('tokens')).toBeVisible();
  }
  await page.getByTestId('token-name').fill('after-reloads');
  await page.getByTestId('token-create').click();
  await expect(page.getByTestId('token-secret')).toBeVisible();
  const png = Buffer.from(
    '89504E470D0A1A0A0000000D4948445200000001000000010806000000' +
      '1F15C4890000000D49444154789C63000100000500010D0A2DB40000000049454E44AE426082',
    'hex',
  );
  await page.getByTestId('avatar-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
  await expect(page.getByTestId('avatar-saved')).toBeVisible();
  await expect(page.getByTestId('avatar-img')).toBeVisible();
});
