// The 市管理者 imports the J-LIS card file: upload a Shift_JIS CSV with one bad row → the page
// follows the worker with a progress bar up to 100 % → the summary (新規 / 変更 / 変更なし /
// 取込不可) and the row-numbered error list → 取り込む → the progress bar again → the result.
// Also the column mapping page and a job page still waiting for the worker. Every page passes
// axe (WCAG 2.1 AA) and fits 360 px without sideways scrolling.
//
// Data from ui/e2e_admin_import_test.go (TestE2EAdminImport):
//   { login, password, files: { phone: path, desktop: path }, rows: { phone: n, desktop: n },
//     badLine: n, waiting: "/admin/imports/<id>" }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';

/** Waits until the page's progress bar shows 100 %, then for the reload that follows. */
async function progressTo100(page) {
  const bar = page.locator('progress#import-progress');
  assert.equal(await bar.count(), 1, 'a progress bar while the worker runs');
  assert.equal(await bar.getAttribute('max'), '100');
  await page.waitForFunction(() => document.querySelector('progress')?.value === 100, null, { polling: 20, timeout: 60_000 });
  await page.waitForFunction(() => !document.querySelector('progress'), null, { timeout: 60_000 });
  await page.waitForLoadState('load');
}

scenario('admin card import', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`import-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const rows = data.rows[viewport.name];
  const n = (x) => x.toLocaleString('en-US'); // counts are shown with thousands separators (40,000件)

  await step('log in as the 市管理者', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin' });
  });
  await step('the import page, from the menu', async () => {
    await go(page, page.getByRole('navigation').getByRole('link', { name: 'カードデータの取込' }), { path: '/admin/imports' });
    await h1(page, 'カードデータの取込');
  });
  await check('list');
  await step('no file chosen: 422, the field says why', async () => {
    await go(page, page.getByRole('button', { name: 'アップロードして内容を確認する' }), { path: '/admin/imports', status: 422 });
    assert.match(await page.locator('#e-file').innerText(), /ファイルを選んでください/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary');
  });
  await check('upload-error');
  await step('upload the Shift_JIS file: the job page with a progress bar', async () => {
    await page.getByLabel('取り込むCSVファイル').setInputFiles(data.files[viewport.name]);
    await go(page, page.getByRole('button', { name: 'アップロードして内容を確認する' }));
    assert.match(new URL(page.url()).pathname, /^\/admin\/imports\/[0-9a-f-]{36}$/);
    await h1(page, '取込ファイルの確認');
    assert.match(await page.getByRole('status').first().innerText(), /ファイルを受け付けました/);
  });
  await step('the progress bar reaches 100 %, then the summary replaces it', async () => {
    await progressTo100(page);
    await page.getByRole('heading', { name: '確認結果' }).waitFor();
  });
  await step('the summary: new, changed, unchanged, rejected, and the bad row by its line', async () => {
    const summary = await page.locator('#import-summary').innerText();
    assert.match(summary, new RegExp(`新規\\s+${n(rows)}件`));
    assert.match(summary, /変更\s+0件/);
    assert.match(summary, /変更なし\s+0件/);
    assert.match(summary, /取込不可\s+1件/);
    const errors = await page.locator('#import-errors').innerText();
    assert.match(errors, new RegExp(`${data.badLine}行目\\s+生年月日の形式が正しくありません`));
    assert.ok(!(await page.locator('main').innerText()).includes('123456789019'), 'no 個人番号 on the page');
    assert.equal(await page.getByRole('link', { name: '一覧をCSVでダウンロード' }).count(), 1);
  });
  await check('summary');
  await step('取り込む: the progress bar again, then the result', async () => {
    await go(page, page.getByRole('button', { name: '取り込む' }));
    assert.match(await page.getByRole('status').first().innerText(), /取込を始めました/);
    const done = page.getByRole('heading', { name: '取込結果' });
    if (await done.count() === 0) await progressTo100(page); // the worker may be done already
    await done.waitFor();
    assert.match(await page.locator('#import-state').innerText(), /取込完了/);
    assert.match(await page.locator('#import-summary').innerText(), new RegExp(`新規\\s+${n(rows)}件`));
    assert.equal(await page.getByRole('button', { name: '取り込む' }).count(), 0, 'no second commit button');
  });
  await check('result');
  await step('the list shows it as done', async () => {
    await go(page, page.getByRole('link', { name: 'カードデータの取込へ戻る' }), { path: '/admin/imports' });
    assert.match(await page.locator('table').innerText(), /取込完了/);
  });
  await step('the column mapping page', async () => {
    await go(page, page.getByRole('link', { name: '取込ファイルの列の対応' }), { path: '/admin/imports/profile' });
    await h1(page, '取込ファイルの列の対応');
    assert.equal(await page.getByLabel('製造管理番号の列名').inputValue(), '製造管理番号');
  });
  await check('profile');
  await step('a job the worker has not reached: progress bar at 0 %, the page keeps polling', async () => {
    await visit(page, data.waiting);
    assert.equal(await page.locator('progress#import-progress').count(), 1);
    assert.match(await page.locator('#import-state').innerText(), /確認待ち/);
  });
  await check('waiting');
});
