// Creating a VM as a `user` would: the wizard from the VM list (template, name, size, network, cloud-init with a
// host name and an SSH key), the review with the quota before and after, the task's progress, then the new VM's
// page with it running and its cloud-init settings; the real guest reads the seed; the dashboard's quota moved.
// The wizard in Chinese too.
import { ADMIN_PASSWORD } from '../playwright.config';
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { adminApi, virsh } from './guests';
import { copyFileSync, readFileSync } from 'node:fs';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1/zLeMSVa9pgcBiq+HKujvcUrDLSw6p6V1z/1/Nx0+ e2e@laptop';

test('a user creates a VM with the wizard and lands on its page, running, with the quota moved', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const suffix = Date.now().toString(36);
  const pool = `hangar-e2e-mk-${suffix}`;
  const user = `maker${suffix}`;
  const vmName = `e2e-${suffix}`;
  const [api, csrf] = await adminApi(baseURL!);
  const headers = { 'X-CSRF-Token': csrf };
  let vmId = '';
  let imageId = 0;
  let poolId = '';
  try {
    const hosts = await (await api.get('/api/v1/hosts')).json();
    const r = await api.post('/api/v1/pools', {
      headers,
      data: { host_id: hosts[0].id, name: pool, kind: 'dir', target_path: `/var/lib/libvirt/images/${pool}`, build: true },
    });
    expect(r.status()).toBe(201);
    poolId = (await r.json()).id;
    copyFileSync('/var/lib/libvirt/images/hangar-guest/template.qcow2', `/var/lib/libvirt/images/${pool}/template.qcow2`);
    virsh('pool-refresh', pool);
    const img = await api.post('/api/v1/images', {
      headers,
      data: {
        pool_id: poolId, volume: 'template.qcow2', name: `Tiny Linux ${suffix}`, kind: 'template', visibility: 'public',
        facts: { os_family: 'linux', min_disk_gib: 1, min_memory_mib: 64, cloud_init: true, default_user: 'debian' },
      },
    });
    expect(img.status()).toBe(201);
    imageId = (await img.json()).id;
    const c = await api.post('/api/v1/users', { headers, data: { username: user, password: 'e2e-password-1', role: 'user' } });
    expect(c.status()).toBe(201);

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, user, 'e2e-password-1');
    await setLanguage(page, 'en');
    await expect(page.getByTestId('quota-vms-value')).toHaveText('0 / 5');
    await page.goto('/vms');
    await hydrated(page);
    await page.getByTestId('vm-create').click();
    await page.waitForURL('**/vms/new');
    await hydrated(page);

    // Source: the template and a name; Enter goes on.
    await page.getByTestId('create-image').selectOption(String(imageId));
    await expect(page.getByTestId('create-image-facts')).toContainText('linux');
    await page.getByTestId('create-name').fill('bad name!');
    await expect(page.getByTestId('wizard-next')).toBeDisabled();
    await page.getByTestId('create-name').fill(vmName);
    await page.getByTestId('create-name').press('Enter');
    // Size: the template's minimums filled in; a disk below the template's is refused as you type.
    await expect(page.getByTestId('wizard-size')).toBeVisible();
    await page.getByTestId('create-disk').fill('0');
    await expect(page.getByTestId('wizard-next')).toBeDisabled();
    await page.getByTestId('create-disk').fill('1');
    await page.getByTestId('create-memory').fill('128');
    await page.getByTestId('wizard-next').click();
    // Network: the host's default.
    await expect(page.getByTestId('wizard-network')).toBeVisible();
    await page.getByTestId('wizard-next').click();
    // cloud-init: a host name and a key (a broken key is refused before it is sent).
    await expect(page.getByTestId('wizard-cloud-init')).toBeVisible();
    await page.getByTestId('create-hostname').fill(`web-${suffix}`);
    await page.getByTestId('create-keys').fill('not a key');
    await expect(page.getByTestId('wizard-next')).toBeDisabled();
    await page.getByTestId('create-keys').fill(KEY);
    await page.getByTestId('wizard-next').click();
    // Review: the server's plan, the quota before and after.
    await expect(page.getByTestId('wizard-review')).toBeVisible();
    await expect(page.getByTestId('plan-host')).not.toBeEmpty();
    await expect(page.getByTestId('plan-disk')).toContainText('linked clone');
    await expect(page.getByTestId('plan-seed')).toContainText('-seed.img');
    const vmsRow = page.getByTestId('plan-quota').locator('tr[data-resource="vms"] td');
    await expect(vmsRow.nth(1)).toHaveText('0');
    await expect(vmsRow.nth(2)).toHaveText('1');
    await page.getByTestId('create-submit').click();
    await expect(page.getByTestId('create-task')).toBeVisible();

    // The new VM's page: running, with its cloud-init settings.
    await page.waitForURL(/\/vms\/[0-9a-f-]{36}$/, { timeout: 60_000 });
    vmId = page.url().split('/').pop()!;
    await hydrated(page);
    await expect(page.getByTestId('vm-title')).toContainText(vmName);
    await expect(page.getByTestId('vm-title')).toContainText('Running', { timeout: 30_000 });
    await expect(page.getByTestId('ci-hostname')).toHaveText(`web-${suffix}`);
    await expect(page.getByTestId('ci-keys')).toContainText('e2e@laptop');

    // The real guest read the seed Hangar wrote.
    await expect.poll(() => {
      try {
        return readFileSync(`/var/log/libvirt/qemu/hangar-${vmId}-serial.log`, 'utf8');
      } catch {
        return '';
      }
    }, { timeout: 60_000 }).toContain(`SEED hostname=web-${suffix} user=debian keys=1`);

    await page.goto('/');
    await hydrated(page);
    await expect(page.getByTestId('quota-vms-value')).toHaveText('1 / 5');
    await expect(page.getByTestId('quota-memory-value')).toHaveText('128 / 8192 MiB');

    // The wizard speaks Chinese too.
    await setLanguage(page, 'zh-CN');
    await page.goto('/vms/new');
    await hydrated(page);
    await expect(page.getByTestId('wizard-steps')).toContainText('来源');
    await expect(page.getByRole('heading', { name: '创建虚拟机' })).toBeVisible();
    await setLanguage(page, 'en');
    await ctx.close();
  } finally {
    if (vmId) await api.delete(`/api/v1/vms/${vmId}?disks=true`, { headers });
    if (imageId) await api.delete(`/api/v1/images/${imageId}`, { headers });
    if (poolId) await api.delete(`/api/v1/pools/${poolId}?contents=true`, { headers });
    try { virsh('pool-destroy', pool); virsh('pool-undefine', pool); } catch { /* gone */ }
  }
});
