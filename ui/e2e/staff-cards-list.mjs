// A clerk works on the card list as a whole: filters it by status and number, opens its print
// view (the CSV links are on the list), changes every matching card after the check page, and
// adds one card by hand (first refused as an import row would be, then accepted). Every page
// passes axe and fits a 360 px phone.
// data: { login, password, prefixes: { phone, desktop }, newCards: { phone, desktop } }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

async function checkPage(page, label) {
  await checkA11y(page, label);
  await checkNoHorizontalScroll(page);
}

scenario('staff card list: print, change by filter, one card', async ({ page, viewport, step, shot }) => {
  const prefix = data.prefixes[viewport.name];
  const newCard = data.newCards[viewport.name];

  await step('clerk logs in', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード', { exact: true }).fill(data.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin$/);
  });
  await step('the dashboard shows the next 14 days per place as a chart', async () => {
    const chart = page.locator('#fill-chart');
    assert.ok(await chart.isVisible(), 'the chart is shown');
    assert.match(await page.locator('#fill-title').innerText(), /今後14日間/);
    assert.match(await chart.textContent(), /本庁舎 市民課/);
    const box = await chart.boundingBox();
    assert.ok(box.width <= viewport.width, 'the chart fits the screen');
    await checkPage(page, 'dashboard with chart');
    await shot('staff-dashboard-chart');
  });
  await step('the list filtered by status and number offers CSV, print and the change', async () => {
    await visit(page, `/admin/cards?status=imported&q=${prefix}`);
    assert.match(await page.locator('#h-results').innerText(), /検索結果 3件/);
    const csv = page.getByRole('link', { name: 'この一覧をCSVで保存（UTF-8）' });
    assert.match(await csv.getAttribute('href'), new RegExp(`^/admin/cards\\.csv\\?q=${prefix}&status=imported&encoding=utf8$`));
    await checkPage(page, 'filtered card list');
  });
  await step('print view', async () => {
    await page.getByRole('link', { name: 'この一覧を印刷する' }).click();
    await page.waitForURL(/\/admin\/cards\/print\?/);
    assert.match(await page.locator('h1').innerText(), /カードの交付進捗一覧（取込済（通知前））/);
    assert.match(await page.locator('.print-meta').innerText(), /該当 3枚/);
    await checkPage(page, 'card print');
    await shot('staff-cards-print');
  });
  await step('check page of the change by filter', async () => {
    await visit(page, `/admin/cards?status=imported&q=${prefix}`);
    await page.locator('#f-fto').selectOption({ label: '通知書送付済' });
    await page.getByRole('button', { name: '変更内容を確認する' }).click();
    await page.waitForURL(/\/admin\/cards\/change\?/);
    assert.match(await page.locator('main').innerText(), /対象の枚数\s*3枚/);
    await checkPage(page, 'change check page');
    await shot('staff-cards-change');
  });
  await step('the change', async () => {
    await page.getByRole('button', { name: '3枚の状態を変更する' }).click();
    await page.waitForURL(/\/admin\/cards\?/);
    assert.match(await page.locator('.notice').first().innerText(), /まとめて変更しました/);
    assert.match(await page.locator('#h-results').innerText(), /検索結果 3件/);
    await checkPage(page, 'list after the change');
  });
  await step('one card: refused as the import would', async () => {
    await page.getByRole('link', { name: 'カードを1枚ずつ登録する' }).click();
    await page.waitForURL(/\/admin\/cards\/new$/);
    await checkPage(page, 'new card');
    await page.getByLabel('製造管理番号').fill('1234-5678-9012');
    await page.getByLabel('生年月日').fill('1990-02-30');
    await page.getByRole('button', { name: '登録する' }).click();
    await page.waitForLoadState('load');
    const summary = await page.locator('#error-summary').innerText();
    assert.match(summary, /個人番号は取り込めません/);
    assert.match(summary, /生年月日の形式が正しくありません/);
    await checkPage(page, 'new card refused');
    await shot('staff-card-new-refused');
  });
  await step('one card: added', async () => {
    await page.getByLabel('製造管理番号').fill(newCard);
    await page.getByLabel('生年月日').fill('1990-03-12');
    await page.getByLabel('保管位置').fill('棚E-1');
    await page.getByRole('button', { name: '登録する' }).click();
    await page.waitForLoadState('load');
    assert.match(await page.locator('.notice').first().innerText(), /カードを登録しました/);
    await checkPage(page, 'new card added');
  });
  await step('clerk logs out', async () => {
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(/\/admin\/login$/);
  });
});
