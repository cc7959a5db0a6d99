// Staff at the counter: log in, see today's bookings, check a visitor in by scanning the booking
// code (a barcode reader types the code and Enter), see the repeat scan answered calmly.
// data: { login, password, codes: { phone: "…", desktop: "…" }, cardNos: { phone, desktop } }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

scenario('staff check-in', async ({ page, viewport, step, shot }) => {
  const code = data.codes[viewport.name];
  await step('login page', async () => {
    await visit(page, '/admin/login');
    await checkA11y(page, 'staff login');
    await shot('staff-login');
  });
  await step('log in', async () => {
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin$/);
    assert.match(await page.locator('h1').innerText(), /本日と明日の予約/);
    await checkA11y(page, 'dashboard');
    await checkNoHorizontalScroll(page);
    await shot('staff-dashboard');
  });
  await step('open check-in: the cursor is already in the field', async () => {
    await page.getByRole('link', { name: '来庁受付' }).first().click();
    await page.waitForURL(/\/admin\/checkin$/);
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    assert.equal(focused, 'f-code');
    await checkA11y(page, 'check-in');
  });
  await step('scan: type the code and Enter, no mouse', async () => {
    await scan(page, code);
    const result = await page.locator('.scan-result').innerText();
    assert.match(result, /来庁を記録しました/);
    assert.ok(result.includes(data.cardNos[viewport.name]), 'the card number to hand out is shown');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    assert.equal(focused, 'f-code', 'the field is refocused for the next scan');
    assert.equal(await page.locator('#f-code').inputValue(), '', 'the field is cleared');
    await checkA11y(page, 'check-in result');
    await shot('staff-checkin-done');
  });
  await step('scan the same code again', async () => {
    await scan(page, code);
    assert.match(await page.locator('.scan-result').innerText(), /すでに来庁済みです/);
  });
  await step('log out', async () => {
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(/\/admin\/login$/);
  });
});

// scan types a code and Enter like a keyboard-wedge barcode reader and waits for the result page.
async function scan(page, code) {
  await page.keyboard.type(code);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/admin/checkin') && r.request().method() === 'POST'),
    page.keyboard.press('Enter'),
  ]);
  await page.waitForLoadState('load');
}
