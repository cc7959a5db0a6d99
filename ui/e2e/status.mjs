// The public status page (status.{BASE}) driven from the vendor's ops console: a member logs in
// (first login: new password, authenticator app), opens 稼働状況ページ from the menu, sends the
// incident form empty (422: the summary names the fields), posts an incident, and the status page
// shows it with its timeline; an update, then the resolution, each shown there too. Every page —
// the console's forms and the status page in Japanese and English — passes axe (WCAG 2.1 A/AA) and
// fits 360 px without sideways scrolling. The status page works without JavaScript (it has none).
//
// Data from ui/e2e_status_test.go (TestE2EStatusIncident):
//   { accounts: { phone|desktop: { login, password } }, newPassword, statusURL,
//     titles: { phone|desktop: string } }
import { assert, data, scenario } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';
import { opsFirstLogin } from './ops-common.mjs';

scenario('status page from the ops console', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`status-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const acc = data.accounts[viewport.name];
  const title = data.titles[viewport.name];
  const menu = () => page.getByRole('navigation', { name: '運用メニュー' });
  // The page may be cached 30 s (Cache-Control: max-age=30): each visit asks for a new address.
  let n = 0;
  const statusPage = async (query = '') => {
    const sep = query ? '&' : '?';
    const resp = await page.goto(`${data.statusURL}/${query}${sep}v=${++n}`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.equal(await page.locator('script').count(), 0, 'no script on the status page');
  };
  let incidentURL = '';

  await step('first login: password, authenticator app', async () => {
    await opsFirstLogin(page, acc, data.newPassword);
  });
  await step('the menu leads to the status page management', async () => {
    await go(page, menu().getByRole('link', { name: '稼働状況ページ' }), { path: '/status' });
    await h1(page, '稼働状況ページ（障害・メンテナンス）');
  });
  await check('ops-list');
  await step('the incident form sent empty: 422, the summary names the fields', async () => {
    await go(page, page.getByRole('link', { name: '障害を掲載する' }), { path: '/status/incidents/new' });
    await go(page, page.getByRole('button', { name: 'この内容で掲載する' }), { path: '/status/incidents', status: 422 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.locator('#f-title_ja').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#error-summary').innerText(), /対象のサービスを1つ以上選んでください/);
  });
  await check('ops-incident-error');
  await step('post an incident', async () => {
    await page.locator('#f-title_ja').fill(title);
    await page.locator('#f-title_en').fill(`EN ${title}`);
    await page.locator('#f-state_citizen').selectOption('major_outage');
    await page.locator('#f-status-investigating').check();
    await page.locator('#f-body_ja').fill('予約画面が表示されない状態を調査しています。');
    await page.locator('#f-body_en').fill('We are investigating why the booking pages do not load.');
    await go(page, page.getByRole('button', { name: 'この内容で掲載する' }));
    assert.match(new URL(page.url()).pathname, /^\/status\/incidents\/[0-9a-f-]{36}$/);
    await h1(page, title);
    assert.match(await page.getByRole('status').innerText(), /障害を掲載しました/);
    incidentURL = page.url();
  });
  await check('ops-incident');
  await step('the status page shows it with its timeline', async () => {
    await statusPage();
    await h1(page, 'サービスに大きな障害が発生しています');
    const inc = page.locator('article.st-inc').filter({ hasText: title });
    assert.equal(await inc.count(), 1);
    assert.match(await inc.innerText(), /調査中/);
    assert.match(await inc.innerText(), /予約画面が表示されない状態を調査しています。/);
  });
  await check('page-ja');
  await step('in English', async () => {
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(/lang=en/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await h1(page, 'Major service outage');
    assert.match(await page.locator('article.st-inc').filter({ hasText: title }).innerText(), /We are investigating why the booking pages do not load\./);
  });
  await check('page-en');
  await step('post an update: identified', async () => {
    await page.goto(incidentURL);
    await page.locator('#f-status-identified').check();
    await page.locator('#f-body_ja').fill('原因を特定し、復旧作業をしています。');
    await page.locator('#f-body_en').fill('Identified; recovering.');
    await go(page, page.getByRole('button', { name: '経過を掲載する' }));
    assert.match(await page.getByRole('status').innerText(), /経過を掲載しました/);
    await statusPage();
    const inc = page.locator('article.st-inc').filter({ hasText: title });
    assert.match(await inc.innerText(), /原因特定/);
    assert.match(await inc.innerText(), /原因を特定し、復旧作業をしています。/);
  });
  await step('resolve it: a past incident on the status page', async () => {
    await page.goto(incidentURL);
    await page.locator('#f-state_citizen').selectOption('');
    await page.locator('#f-status-resolved').check();
    await page.locator('#f-body_ja').fill('復旧しました。ご不便をおかけしました。');
    await page.locator('#f-body_en').fill('Resolved.');
    await go(page, page.getByRole('button', { name: '経過を掲載する' }));
    assert.match(await page.getByRole('status').innerText(), /障害を解決済みにしました/);
    await statusPage();
    assert.equal(await page.locator('#h-open').count(), 0, 'no current incidents');
    const past = page.locator('section', { has: page.locator('#history') }).locator('article.st-inc').filter({ hasText: title });
    assert.equal(await past.count(), 1);
    assert.match(await past.innerText(), /復旧しました。/);
  });
  await check('page-resolved-ja');
  await step('resolved, in English', async () => {
    await statusPage('?lang=en');
    assert.match(await page.locator('#history').innerText(), /Past incidents/);
  });
  await check('page-resolved-en');
});
