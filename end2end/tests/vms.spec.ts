// VMs on the real local libvirt: live state in the list, and what a user may see.
import { test, expect, signIn } from './helpers';
import { adminApi, defineGuest, removeGuest, virsh } from './guests';

test('an operator starts a VM from the list and watches it change live; a user sees only their own', async ({ browser, baseURL }) => {
  const suffix = Date.now().toString(36);
  const [a, b] = [`e2e-${suffix}-a`, `e2e-${suffix}-b`];
  const [api, csrf] = await adminApi(baseURL!);
  const headers = { 'X-CSRF-Token': csrf };
  try {
    for (const [username, role] of [[`oscar${suffix}`, 'operator'], [`una${suffix}`, 'user']]) {
      const r = await api.post('/api/v1/users', { headers, data: { username, password: 'e2e-password-1', role } });
      expect(r.status()).toBe(201);
    }
    const una = (await (await api.get('/api/v1/users')).json()).find((u: any) => u.username === `una${suffix}`);
    const uuidA = defineGuest(a);
    const uuidB = defineGuest(b);
    await expect.poll(async () => (await (await api.get(`/api/v1/vms?q=${suffix}`)).json()).total, { timeout: 20_000 }).toBe(2);
    const assign = await api.patch(`/api/v1/vms/${uuidA}`, { headers, data: { owner_id: una.id } });
    expect(assign.status()).toBe(200);

    const opCtx = await browser.newContext();
    const op = await opCtx.newPage();
    await signIn(op, `oscar${suffix}`, 'e2e-password-1');
    await op.getByTestId('nav-vms').click();
    const row = op.getByTestId(`vm-row-${a}`);
    await expect(row.getByTestId('vm-state')).toHaveAttribute('data-state', 'shutoff');
    await row.getByTestId('action-start').click();
    await expect(op.getByTestId(`vm-row-${a}`).getByTestId('vm-state')).toHaveAttribute('data-state', 'running');
    // A change made outside Hangar arrives too, without a reload.
    virsh('destroy', a);
    await expect(op.getByTestId(`vm-row-${a}`).getByTestId('vm-state')).toHaveAttribute('data-state', 'shutoff');

    const userCtx = await browser.newContext();
    const user = await userCtx.newPage();
    await signIn(user, `una${suffix}`, 'e2e-password-1');
    await user.getByTestId('nav-vms').click();
    await expect(user.getByTestId(`vm-row-${a}`)).toBeVisible();
    await expect(user.getByTestId(`vm-row-${b}`)).toHaveCount(0);
    await expect(user.getByTestId('nav-hosts')).toHaveCount(0);
    expect((await user.request.get(`/api/v1/vms/${uuidB}`)).status()).toBe(404);
    expect((await user.request.get(`/api/v1/vms/${uuidA}`)).status()).toBe(200);
    await opCtx.close();
    await userCtx.close();
  } finally {
    removeGuest(a);
    removeGuest(b);
    await api.dispose();
  }
});
