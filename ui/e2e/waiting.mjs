// The waiting room's queue page, as a citizen meets it in a rush: the city's room is full (the Go
// test holds its one place and has queued others), so the login form answers with the queue page.
// It states the place in line and the expected wait in a status region, says it refreshes itself
// and how often, links to check now, and can be told to stop refreshing. Every state passes axe
// (WCAG 2.1 AA) and fits 360 px without sideways scrolling.
// Data from ui/e2e_waiting_test.go: { ahead } (tickets given out before this browser's).
import { assert, checkA11y, checkNoHorizontalScroll, scenario, visit } from './lib.mjs';

scenario('waiting', async ({ page, data, viewport, step, shot }) => {
  let refresh = null; // the queue page's Refresh header
  await step('the login form answers with the queue page', async () => {
    const resp = await visit(page, '/login');
    refresh = resp.headers()['refresh'] ?? null;
  });
  await step('one h1; place in line and expected wait in a status region', async () => {
    assert.equal(await page.locator('h1').count(), 1, 'exactly one h1');
    assert.match(await page.locator('h1').innerText(), /混み合っています/);
    const status = await page.getByRole('status').innerText();
    assert.match(status, /あなたの順番：\d+番目/);
    assert.match(status, /待ち時間の目安/);
    const n = Number(status.match(/あなたの順番：(\d+)番目/)[1]);
    assert.ok(n > data.ahead, `place ${n}, want behind the ${data.ahead} queued before`);
  });
  await step('says that it refreshes, how often, and that the place is kept', async () => {
    assert.ok(refresh, 'no Refresh header');
    assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0, 'a meta refresh (axe fails it)');
    const content = refresh;
    const secs = Number(content.split(';')[0]);
    assert.ok(secs >= 3, `refresh after ${secs} s`);
    assert.match(content, /url=\/login$/);
    const main = await page.locator('main').innerText();
    assert.match(main, /自動で更新/);
    assert.match(main, /順番は保たれます/);
    await page.getByRole('link', { name: '今すぐ順番を確認する' }).waitFor();
  });
  if (viewport.name === 'phone') {
    await step('no sideways scrolling at 360 px', () => checkNoHorizontalScroll(page));
  }
  // The timed refresh is the Refresh header, not a meta element, and the page lets the citizen
  // turn it off (the link below, WCAG 2.2.1 "turn off"): axe checks every rule.
  await step('axe, every rule', () => checkA11y(page, 'queue page'));
  await step('screenshot', () => shot('waiting'));
  await step('自動更新を止める: the same place, no refresh, a link to check and one to resume', async () => {
    await page.getByRole('link', { name: '自動更新を止める' }).click();
    await page.waitForURL(/wait=manual/);
    const resp = await page.reload({ waitUntil: 'load' });
    assert.equal(resp.headers()['refresh'] ?? null, null, 'still refreshing');
    assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0, 'a meta refresh');
    assert.match(await page.getByRole('status').innerText(), /あなたの順番：\d+番目/);
    await page.getByRole('link', { name: '自動更新を再開する' }).waitFor();
    await page.getByRole('link', { name: '今すぐ順番を確認する' }).waitFor();
  });
  await step('axe, every rule', () => checkA11y(page, 'queue page without refresh'));
  await step('English by the language switch', async () => {
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(/wait=manual/);
    assert.match(await page.getByRole('status').innerText(), /Your place in line: \d+/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  });
  await step('axe (English)', () => checkA11y(page, 'queue page in English'));
});
