// The Images page as people use it: an ISO uploaded from the page survives a reload mid-way (picking the same file
// resumes it) and lands in the library with its checksum; a user's private template stays theirs; Chinese.
import { ADMIN_PASSWORD } from '../playwright.config';
import { test, expect, signIn, hydrated, setLanguage } from './helpers';
import { adminApi, virsh } from './guests';
import { createHash } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';

function fakeIso(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  b[0x8000] = 1;
  b.write('CD001', 0x8001, 'ascii');
  return b;
}

test('an ISO upload survives a reload, resumes, and lands in the library with its checksum; private stays private', async ({ browser, baseURL }) => {
  const suffix = Date.now().toString(36);
  const pool = `hangar-e2e-img-${suffix}`;
  const [api, csrf] = await adminApi(baseURL!);
  const headers = { 'X-CSRF-Token': csrf };
  const isoPath = `/tmp/e2e-${suffix}.iso`;
  const tplPath = `/tmp/e2e-${suffix}-tpl.img`;
  try {
    const hosts = await (await api.get('/api/v1/hosts')).json();
    const r = await api.post('/api/v1/pools', {
      headers,
      data: { host_id: hosts[0].id, name: pool, kind: 'dir', target_path: `/var/lib/libvirt/images/${pool}`, build: true },
    });
    expect(r.status()).toBe(201);
    const poolId = (await r.json()).id;
    expect((await api.patch(`/api/v1/pools/${poolId}`, { headers, data: { images_pool: true } })).status()).toBe(200);
    for (const u of [`ann${suffix}`, `bob${suffix}`]) {
      const c = await api.post('/api/v1/users', { headers, data: { username: u, password: 'e2e-password-1', role: 'user' } });
      expect(c.status()).toBe(201);
    }
    const iso = fakeIso(40 * 1024 * 1024, 1);
    writeFileSync(isoPath, iso);
    const sha = createHash('sha256').update(iso).digest('hex');

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await setLanguage(page, 'en');
    // Slow the chunks down so that a reload lands mid-way.
    await page.route('**/api/v1/uploads/*', async (route) => {
      if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, 800));
      await route.continue();
    });
    await page.goto('/images');
    await hydrated(page);
    await page.getByTestId('upload-kind').selectOption('iso');
    await page.getByTestId('upload-file').setInputFiles(isoPath);
    const item = page.getByTestId('upload-item').first();
    await expect(item).toHaveAttribute('data-state', 'uploading');
    await expect.poll(async () => Number(await item.getAttribute('data-offset') ?? 0), { timeout: 20_000 }).toBeGreaterThan(0);
    const before = Number(await item.getAttribute('data-offset'));
    expect(before).toBeLessThan(iso.length);

    // A reload stops it; the page lists it as unfinished, and picking the same file resumes where it stopped.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('unfinished-uploads')).toContainText(`e2e-${suffix}.iso`);
    await page.getByTestId('upload-file').setInputFiles(isoPath);
    const again = page.getByTestId('upload-item').first();
    await expect(again.getByTestId('upload-status')).toContainText(/resuming|%/);
    await expect(again).toHaveAttribute('data-state', 'done', { timeout: 45_000 });
    await again.getByRole('link', { name: 'Open' }).click();
    await hydrated(page);
    await expect(page.getByTestId('image-sha256-full')).toHaveText(sha);
    await page.goto('/images');
    await hydrated(page);
    await expect(page.getByTestId(`image-row-e2e-${suffix}`)).toBeVisible();
    await ctx.close();

    // A user uploads a private template; another user never sees it.
    writeFileSync(tplPath, Buffer.alloc(1024 * 1024, 7));
    const annCtx = await browser.newContext();
    const ann = await annCtx.newPage();
    await signIn(ann, `ann${suffix}`, 'e2e-password-1');
    await setLanguage(ann, 'en');
    await ann.goto('/images');
    await hydrated(ann);
    await expect(ann.getByTestId('upload-visibility').locator('option')).toHaveCount(1);
    await ann.getByTestId('upload-kind').selectOption('template');
    await ann.getByTestId('upload-file').setInputFiles(tplPath);
    await expect(ann.getByTestId('upload-item').first()).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
    await ann.reload();
    await hydrated(ann);
    await expect(ann.getByTestId(`image-row-e2e-${suffix}-tpl`)).toBeVisible();
    const images = await (await api.get('/api/v1/images')).json();
    const tpl = images.find((i: { name: string }) => i.name === `e2e-${suffix}-tpl`);
    expect(tpl.visibility).toBe('private');
    await annCtx.close();

    const bobCtx = await browser.newContext();
    const bob = await bobCtx.newPage();
    await signIn(bob, `bob${suffix}`, 'e2e-password-1');
    await setLanguage(bob, 'zh-CN');
    await bob.goto('/images');
    await hydrated(bob);
    await expect(bob.getByRole('heading', { name: '镜像' })).toBeVisible();
    await expect(bob.getByTestId(`image-row-e2e-${suffix}-tpl`)).toHaveCount(0);
    await expect(bob.getByTestId(`image-row-e2e-${suffix}`)).toHaveCount(0);
    await bob.goto(`/images/${tpl.id}`);
    await hydrated(bob);
    await expect(bob.getByTestId('image-name')).toHaveCount(0);
    await bobCtx.close();

    for (const i of images) await api.delete(`/api/v1/images/${i.id}`, { headers });
  } finally {
    rmSync(isoPath, { force: true });
    rmSync(tplPath, { force: true });
    for (const cmd of [['pool-destroy', pool], ['pool-delete', pool], ['pool-undefine', pool]]) {
      try { virsh(...cmd); } catch { /* gone */ }
    }
    rmSync(`/var/lib/libvirt/images/${pool}`, { recursive: true, force: true });
  }
});
