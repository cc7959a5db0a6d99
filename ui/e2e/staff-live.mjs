// Staff dashboard, live: logged in on /admin, the clerk sees a booking made meanwhile (by another
// channel, through the test's booking endpoint) without reloading; the quiet status line says when
// the figures were updated; the page stays axe-clean at every width.
// data: { login, password, bookURL }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

// The bookings the dashboard counts over both days it shows (the test's slot is today's or, when
// today has none left, tomorrow's).
const booked = () => [...document.querySelectorAll('[data-live-body] section p')]
  .reduce((n, p) => n + Number((p.textContent.match(/予約 (\d+)人/) || [0, 0])[1]), 0);

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
    const before = await page.evaluate(booked);
    await page.evaluate(() => { window.__sameDocument = true; }); // gone if the page reloads
    const resp = await fetch(data.bookURL, { method: 'POST' });
    assert.equal(resp.status, 200, 'the test booked');
    await page.waitForFunction(`(${booked})() === ${before + 1}`, null, { timeout: 5000 });
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
