// Staff dashboard, live: logged in on /admin, the clerk sees a booking made meanwhile (by another
// channel, through the test's booking endpoint) without reloading; the quiet status line says when
// the figures were updated; the page stays axe-clean at every width.
// data: { login, password, bookURL }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

const total = (page) => page.locator('[data-live-body] section p').first().innerText();

scenario('staff dashboard live', async ({ page, step, shot }) => {
  await step('log in: the dashboard', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin$/);
    assert.ok(await page.locator('[data-live="/admin/live/dashboard"]').count(), 'the dashboard is a live screen');
    await checkA11y(page, 'live dashboard');
  });
  await step('a booking made meanwhile shows without reloading', async () => {
    const before = Number((await total(page)).match(/予約 (\d+)人/)[1]);
    await page.evaluate(() => { window.__sameDocument = true; }); // gone if the page reloads
    const resp = await fetch(data.bookURL, { method: 'POST' });
    assert.equal(resp.status, 200, 'the test booked');
    await page.waitForFunction(
      (want) => document.querySelector('[data-live-body] section p')?.textContent.includes(`予約 ${want}人`),
      before + 1, { timeout: 5000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'updated in place, not reloaded');
    assert.match(await page.locator('[data-live-status]').innerText(), /^最新の状態に更新しました（\d\d:\d\d:\d\d）$/);
    await checkA11y(page, 'live dashboard after an update');
    await checkNoHorizontalScroll(page);
    await shot('staff-dashboard-live');
  });
  await step('log out', async () => {
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(/\/admin\/login$/);
  });
});
