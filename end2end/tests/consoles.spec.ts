// Consoles as a VM's owner would use them: the screen drawn by noVNC through Hangar's bridge (the canvas shows
// the guest's screen, a screenshot downloads as PNG), the serial console in xterm.js (the guest's boot marker,
// a command typed into its shell and its output), the session listed on the VM page, the page in Chinese;
// then a view-only share link opened by someone without an account.
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { adminApi, defineGuest, removeGuest, virsh } from './guests';

const VNC = "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/><video><model type='vga'/></video>";

async function runningVm(baseURL: string, name: string, owner: string) {
  const [api, csrf] = await adminApi(baseURL);
  const headers = { 'X-CSRF-Token': csrf };
  const id = defineGuest(name, VNC);
  virsh('start', name);
  const c = await api.post('/api/v1/users', { headers, data: { username: owner, password: 'e2e-password-1', role: 'user' } });
  expect(c.status()).toBe(201);
  const uid = (await c.json()).id;
  await expect.poll(async () => (await api.get(`/api/v1/vms/${id}`)).status(), { timeout: 30_000 }).toBe(200);
  const r = await api.patch(`/api/v1/vms/${id}`, { headers, data: { owner_id: uid } });
  expect(r.status()).toBe(200);
  return id;
}

test('the screen and the serial console of a running VM, in English and Chinese', async ({ browser, baseURL }) => {
  test.setTimeout(150_000);
  const suffix = Date.now().toString(36);
  const name = `hangar-e2e-con-${suffix}`;
  const owner = `con${suffix}`;
  try {
    const id = await runningVm(baseURL!, name, owner);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, owner, 'e2e-password-1');
    await setLanguage(page, 'en');
    await page.goto(`/vms/${id}`);
    await hydrated(page);
    await expect(page.getByTestId('console-panel')).toBeVisible();
    await expect(page.getByTestId('open-vnc')).toHaveAttribute('href', `/vms/${id}/console?kind=vnc`);

    const con = await ctx.newPage();
    await con.goto(`/vms/${id}/console?kind=vnc`);
    await hydrated(con);
    await expect(con.getByTestId('console-status')).toHaveText('Connected', { timeout: 30_000 });
    // The canvas shows something: its pixels are not all one colour (the guest's firmware text on black).
    await expect.poll(async () => con.evaluate(() => {
      const c = document.querySelector('[data-testid=console-screen] canvas') as HTMLCanvasElement | null;
      if (!c || c.width < 100) return 0;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    }), { timeout: 30_000 }).toBeGreaterThan(1);
    const shot = await con.request.get(`/api/v1/vms/${id}/screenshot`);
    expect(shot.status()).toBe(200);
    expect((await shot.body()).subarray(0, 4).toString('hex')).toBe('89504e47');
    // The VM page lists the open session.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('console-sessions')).toContainText(owner, { timeout: 15_000 });

    // The serial line: the boot marker the guest printed, then a command typed into its shell.
    await con.getByRole('link', { name: 'Serial console' }).click();
    await expect(con.locator('.xterm-rows')).toContainText('GUEST-READY', { timeout: 30_000 });
    await con.locator('.xterm-screen').click();
    await con.keyboard.type('echo E2E-$((6*7))\n');
    await expect(con.locator('.xterm-rows')).toContainText('E2E-42', { timeout: 30_000 });

    // In Chinese.
    await setLanguage(page, 'zh-CN');
    await con.goto(`/vms/${id}/console?kind=vnc`);
    await hydrated(con);
    await expect(con.getByTestId('console-status')).toHaveText('已连接', { timeout: 30_000 });
    await expect(con.getByTestId('console-screenshot')).toHaveText('截图');
    await ctx.close();
  } finally {
    removeGuest(name);
  }
});

test('a view-only share link opens the serial console for someone without an account', async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const suffix = Date.now().toString(36);
  const name = `hangar-e2e-share-${suffix}`;
  const owner = `sh${suffix}`;
  try {
    const id = await runningVm(baseURL!, name, owner);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, owner, 'e2e-password-1');
    await setLanguage(page, 'en');
    await page.goto(`/vms/${id}`);
    await hydrated(page);
    await page.getByTestId('console-link-kind').selectOption('serial');
    await expect(page.getByTestId('console-link-view-only')).toBeChecked();
    await page.getByTestId('console-link-minutes').fill('30');
    await page.getByTestId('console-link-create').click();
    const url = (await page.getByTestId('console-link-url').locator('code').textContent())!;
    expect(url).toContain('/console-share#');
    await expect(page.getByTestId('console-links')).toContainText('view only');

    const guest = await browser.newContext();
    const anon = await guest.newPage();
    await anon.goto(url);
    await expect(anon.getByTestId('console-status')).toContainText('view only', { timeout: 30_000 });
    await expect(anon.locator('.xterm-rows')).toContainText('GUEST-READY', { timeout: 30_000 });
    await expect(anon.getByTestId('console-paste')).toBeHidden();
    await guest.close();
    // The owner sees the use counted.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('console-links').locator('tbody tr').first()).toContainText('1');
    await ctx.close();
  } finally {
    removeGuest(name);
  }
});
