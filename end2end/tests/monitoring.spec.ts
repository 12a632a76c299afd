// Monitoring and alerts as a VM's owner would use them: the VM page's CPU chart drawn from real figures and
// moving while the page is open, a rule made from the VM page's "Create alert rule" link for a busy guest,
// seen firing on the Alerts page, and the pages in Chinese.
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { adminApi, defineGuest, removeGuest, virsh } from './guests';

test('a VM owner watches the CPU chart move and sees their rule fire', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const suffix = Date.now().toString(36);
  const name = `hangar-e2e-mon-${suffix}`;
  const owner = `mon${suffix}`;
  const [api, csrf] = await adminApi(baseURL!);
  const headers = { 'X-CSRF-Token': csrf };
  try {
    // A guest that keeps its vCPU busy once booted, owned by a new user.
    const id = defineGuest(name, '', 'hangar_burn');
    virsh('start', name);
    const c = await api.post('/api/v1/users', { headers, data: { username: owner, password: 'e2e-password-1', role: 'user' } });
    expect(c.status()).toBe(201);
    await expect.poll(async () => (await api.get(`/api/v1/vms/${id}`)).status(), { timeout: 30_000 }).toBe(200);
    expect((await api.patch(`/api/v1/vms/${id}`, { headers, data: { owner_id: (await c.json()).id } })).status()).toBe(200);

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, owner, 'e2e-password-1');
    await setLanguage(page, 'en');
    await page.goto(`/vms/${id}`);
    await hydrated(page);
    const panel = page.getByTestId('vm-monitoring');
    await expect(panel).toBeVisible();
    const cpu = panel.locator('figure[data-chart=cpu]');
    // The chart fills as samples arrive (every 2 s here), refreshed by the page itself every 10 s.
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThan(2);
    const before = Number(await cpu.getAttribute('data-points'));
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 30_000 }).toBeGreaterThan(before);
    await expect(cpu.locator('polyline[data-series=cpu_percent]')).toHaveCount(1);
    // The guest has no NIC: the table says why it is empty rather than staying blank.
    await expect(panel.getByTestId('monitoring-nics-none')).toBeVisible();
    await expect(panel.locator('button[data-range=hour]')).toHaveAttribute('aria-pressed', 'true');
    // Hovering shows the values of that moment.
    const svg = cpu.locator('svg');
    await svg.scrollIntoViewIfNeeded();
    const box = (await svg.boundingBox())!;
    await svg.hover({ position: { x: box.width * 0.9, y: box.height / 2 } });
    await expect(cpu.getByTestId('chart-tooltip')).toBeVisible();
    await expect(cpu.getByTestId('chart-tooltip')).toContainText('%');

    // A rule for this VM, started from its page.
    await page.getByTestId('create-alert-rule').click();
    await expect(page).toHaveURL(new RegExp(`/alerts\\?vm=${id}`));
    await hydrated(page);
    const form = page.locator('form#new-rule');
    await form.locator('input[name=name]').fill('busy e2e');
    await form.locator('select[name=metric]').selectOption('vm_cpu_percent');
    await form.locator('select[name=comparison]').selectOption('gt');
    await form.locator('input[name=threshold]').fill('50');
    await form.locator('input[name=for_seconds]').fill('4');
    await expect(form.locator('select[name=scope_kind]')).toHaveValue('vm');
    await expect(form.locator('input[name=scope_id]')).toHaveValue(id);
    await form.getByTestId('rule-submit').click();
    await expect(page.getByTestId('rule-saved')).toBeVisible();
    await expect(page.locator('#alert-rules tr[data-rule-name="busy e2e"]')).toBeVisible();
    // It fires: the firing list updates by itself.
    const row = page.locator('#alerts-firing tr[data-alert-id][data-state=firing]');
    await expect(row).toBeVisible({ timeout: 90_000 });
    await expect(row).toContainText(name);
    await row.getByTestId('alert-ack').click();
    await expect(row).toContainText(owner);

    // The same in Chinese.
    await setLanguage(page, 'zh-CN');
    await page.goto('/alerts');
    await hydrated(page);
    await expect(page.locator('h1')).toHaveText('告警');
    await page.goto(`/vms/${id}`);
    await hydrated(page);
    await expect(page.getByTestId('vm-monitoring')).toContainText('CPU');
    // Silencing the VM's notifications says until when.
    await page.getByTestId('vm-silence').click();
    await expect(page.getByTestId('vm-silence-state')).toContainText('静默至');
    await ctx.close();
  } finally {
    removeGuest(name);
  }
});
