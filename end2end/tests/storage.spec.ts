// The Storage pages as an operator uses them: create a pool with the form (a wrong path is explained beside
// nothing changing), see it with its usage, make volumes, clone one and watch the task finish in the header and
// on the Tasks page, delete with a confirmation; in Chinese too.
import { ADMIN_PASSWORD } from '../playwright.config';
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { virsh } from './guests';
import { rmSync } from 'node:fs';

test('pools and volumes from the Storage pages, with a clone watched as a task', async ({ browser }) => {
  const suffix = Date.now().toString(36);
  const pool = `hangar-e2e-pool-${suffix}`;
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  try {
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await setLanguage(page, 'en');
    await page.getByTestId('nav-storage').click();
    await hydrated(page);
    await page.getByTestId('pool-create-open').click();
    await page.getByTestId('pool-host').selectOption({ index: 1 });
    await page.getByTestId('pool-name').fill(pool);
    // A path outside what the administrator allows: refused in words, nothing made.
    await page.getByTestId('pool-target_path').fill(`/etc/${pool}`);
    await page.getByTestId('pool-create-submit').click();
    await expect(page.locator('[data-testid="pool-create"] .error')).toContainText('Target path');
    await expect(page.getByTestId(`pool-row-${pool}`)).toHaveCount(0);
    await page.getByTestId('pool-target_path').fill(`/var/lib/libvirt/images/${pool}`);
    await page.getByTestId('pool-create-submit').click();
    const row = page.getByTestId(`pool-row-${pool}`);
    await expect(row).toHaveAttribute('data-state', 'running');
    await expect(row.locator('[role="progressbar"]')).toBeVisible();

    await row.getByRole('link', { name: pool }).click();
    await hydrated(page);
    await expect(page.getByTestId('pool-name')).toHaveText(pool);
    await expect(page.getByTestId('volumes-empty')).toBeVisible();
    await page.getByTestId('volume-name').fill('data.raw');
    await page.getByTestId('volume-format').selectOption('raw');
    await page.getByTestId('volume-size').fill('64');
    await page.locator('[data-testid="volume-create"] select').nth(1).selectOption('MiB');
    await page.getByTestId('volume-create-submit').click();
    const vol = page.getByTestId('volume-row-data.raw');
    await expect(vol).toContainText('64.0 MiB');

    // Clone: a task, followed in the header indicator and on the Tasks page.
    await vol.getByTestId('volume-clone').click();
    const op = page.getByTestId('volume-op-data.raw');
    await op.getByTestId('volume-clone-name').fill('copy.raw');
    await op.getByTestId('volume-op-confirm').click();
    await expect(op.getByRole('link', { name: /Task \d+ started/ })).toBeVisible();
    await page.getByTestId('nav-tasks').click();
    await hydrated(page);
    const task = page.locator('[data-testid^="task-row-"]').first();
    await expect(task).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
    await expect(task).toContainText('Clone volume');
    await expect(page.getByTestId('tasks-indicator')).toHaveAttribute('data-count', '0');

    // Deleting asks first; the pool goes with its contents.
    await page.goto('/storage');
    await hydrated(page);
    await page.getByTestId(`pool-row-${pool}`).getByRole('link', { name: pool }).click();
    await hydrated(page);
    const copy = page.getByTestId('volume-row-copy.raw');
    await copy.getByTestId('volume-delete').click();
    const confirmRow = page.getByTestId('volume-op-copy.raw');
    await expect(confirmRow).toContainText('Delete this volume and its data?');
    await confirmRow.getByTestId('volume-op-confirm').click();
    await expect(copy).toHaveCount(0);
    await expect(confirmRow).toHaveCount(0);

    await setLanguage(page, 'zh-CN');
    await page.goto('/storage');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: '存储' })).toBeVisible();
    const zhRow = page.getByTestId(`pool-row-${pool}`);
    await expect(zhRow).toContainText('运行中');
    await zhRow.getByTestId('pool-delete').click();
    await zhRow.getByRole('checkbox').check();
    await zhRow.getByTestId('pool-delete-confirm').click();
    await expect(page.getByTestId(`pool-row-${pool}`)).toHaveCount(0);
    await setLanguage(page, 'en');
  } finally {
    await ctx.close();
    for (const cmd of [['pool-destroy', pool], ['pool-delete', pool], ['pool-undefine', pool]]) {
      try { virsh(...cmd); } catch { /* gone */ }
    }
    rmSync(`/var/lib/libvirt/images/${pool}`, { recursive: true, force: true });
  }
});
