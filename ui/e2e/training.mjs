// The training city (研修用) opened from the vendor's ops console: a member logs in (first login:
// new password, authenticator app), opens a city's page, its 研修用環境の作成 check page and opens
// the copy (the training administrator's password shown once); then the copy's citizens' top page
// and its staff pages (the training administrator's first login) carry the 研修用 banner. Every
// page passes axe (WCAG 2.1 A/AA) and fits 360 px without sideways scrolling.
//
// Data from ui/e2e_training_test.go (TestE2ETrainingCity):
//   { accounts: { phone|desktop: { login, password } }, newPassword, staffPassword,
//     cities: { phone|desktop: { slug, name, copyURL } } }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1, summaryValue } from './citizen-common.mjs';
import { opsFirstLogin } from './ops-common.mjs';

const BANNER = '研修用の環境です。実際の予約は受け付けていません。';

scenario('training city', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`training-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const acc = data.accounts[viewport.name];
  const city = data.cities[viewport.name];
  let initial = '';

  await step('first login: password, authenticator app', async () => {
    await opsFirstLogin(page, acc, data.newPassword);
  });
  await step('the city\'s page offers a training copy', async () => {
    await visit(page, `/cities/${city.slug}`);
    await h1(page, city.name);
  });
  await step('the check page: what is copied and what is not', async () => {
    await go(page, page.getByRole('link', { name: /^研修用環境の作成/ }), { path: `/cities/${city.slug}/training` });
    await h1(page, `${city.name}の研修用環境を作成する`);
    assert.equal(await summaryValue(page, '研修用環境のホスト名'), `${city.slug}-kensyu`);
    assert.match(await page.locator('main').innerText(), /住民のカード・予約・メールアドレス・氏名など、住民のデータ/);
  });
  await check('check');
  await step('open it: the training administrator\'s password, once', async () => {
    await go(page, page.getByRole('button', { name: '研修用環境を作成する' }), { path: `/cities/${city.slug}/training` });
    await h1(page, `研修用環境「${city.name}（研修用）」を作成しました`);
    initial = (await page.locator('#initial-password').innerText()).trim();
    assert.match(initial, /^\S{12,}$/);
    assert.equal(await summaryValue(page, '市管理者のログインID'), 'kensyu.admin');
  });
  await check('created');
  await step('the copy\'s citizens\' top page says 研修用', async () => {
    const resp = await page.goto(city.copyURL + '/', { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    const note = page.getByRole('note', { name: '研修用環境のお知らせ' });
    assert.match(await note.innerText(), new RegExp(BANNER));
  });
  await check('citizen');
  await step('the copy\'s staff pages say 研修用: the training administrator\'s first login', async () => {
    await page.goto(city.copyURL + '/admin/login', { waitUntil: 'load' });
    await page.getByLabel('ログインID').fill('kensyu.admin');
    await page.getByLabel('パスワード').fill(initial);
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin/password' });
    await page.getByLabel('現在のパスワード').fill(initial);
    await page.getByLabel('新しいパスワード', { exact: true }).fill(data.staffPassword);
    await page.getByLabel('新しいパスワード（確認）').fill(data.staffPassword);
    await go(page, page.getByRole('button', { name: 'パスワードを変更する' }), { path: '/admin' });
    const note = page.getByRole('note', { name: '研修用環境のお知らせ' });
    assert.match(await note.innerText(), new RegExp(BANNER));
  });
  await check('staff');
});
