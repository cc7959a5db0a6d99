// Outage paging seen by the people paged: a page arrives (the Go test posts Alertmanager's
// webhook; the engine mails and calls the contact), a member of the vendor's ops console logs in
// (first login: new password, authenticator app) and finds it in 障害通知 as 通知中（未対応）, with
// its timeline; the mail's link opens the confirmation page — opening it acknowledges nothing —
// and its button acknowledges; the console then shows 対応中. Every page passes axe (WCAG 2.1
// A/AA) and fits 360 px without sideways scrolling.
//
// Data from ui/e2e_paging_test.go (TestE2EPaging):
//   { accounts: { phone|desktop: { login, password } }, newPassword,
//     pages: { phone|desktop: { id, title, ackURL } } }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';
import { opsFirstLogin } from './ops-common.mjs';

scenario('outage paging', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`paging-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const acc = data.accounts[viewport.name];
  const pg = data.pages[viewport.name];

  await step('first login: password, authenticator app', async () => {
    await opsFirstLogin(page, acc, data.newPassword);
  });
  await step('the pages: this one is triggered', async () => {
    await visit(page, '/pages');
    await h1(page, '障害通知');
    const row = page.getByRole('region', { name: '障害通知' }).getByRole('row').filter({ hasText: pg.title });
    assert.equal(await row.count(), 1, 'the page is listed');
    assert.match(await row.innerText(), /通知中（未対応）/);
  });
  await check('list');
  await step('the page with its timeline', async () => {
    await go(page, page.getByRole('link', { name: pg.title }), { path: `/pages/${pg.id}` });
    await h1(page, '障害通知の詳細');
    const timeline = page.getByRole('region', { name: '経過' });
    assert.match(await timeline.innerText(), /triggered[\s\S]*notify_sent/);
  });
  await check('detail');
  await step('the mail link: a confirmation page only', async () => {
    const resp = await page.goto(pg.ackURL, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    await h1(page, '障害通知への対応');
    assert.match(await page.locator('main').innerText(), new RegExp(pg.title.replace(/[()]/g, '.')));
    assert.match(await page.locator('main').innerText(), /通知中（未対応）/);
  });
  await check('ack-confirm');
  await step('the button acknowledges', async () => {
    await go(page, page.getByRole('button', { name: '対応します（通知を止める）' }));
    await h1(page, '対応を受け付けました');
  });
  await check('ack-done');
  await step('the console shows it acknowledged', async () => {
    await visit(page, `/pages/${pg.id}`);
    await h1(page, '障害通知の詳細');
    assert.match(await page.locator('dl.facts').innerText(), /対応中（当番/);
    assert.equal(await page.getByRole('button', { name: '対応します（通知を止める）' }).count(), 0, 'no ack button any more');
  });
});
