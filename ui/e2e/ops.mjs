// The vendor's ops console (ops.{BASE}): a new member's first login — the issued password, a new
// one, the authenticator app (the script plays the phone, totp.mjs) — then logout and a login with
// the password and a code; onboarding a city with a wrong municipality code first (422: the title
// says エラー, focus on the summary, the field says why and keeps the value), then right (the
// initial password shown once); the city's page and three of its check pages, the list of cities,
// the vendor accounts, the allow-lists and the manual. Every page passes axe (WCAG 2.1 A/AA) and
// fits 360 px without sideways scrolling.
//
// Data from ui/e2e_ops_test.go (TestE2EOpsConsole):
//   { accounts: { phone|desktop: { login, password } }, newPassword,
//     cities: { phone|desktop: { slug, name, kana, code, badCode, admin } } }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1, summaryValue } from './citizen-common.mjs';
import { totp } from './totp.mjs';

scenario('ops console', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`ops-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const acc = data.accounts[viewport.name];
  const city = data.cities[viewport.name];
  const menu = () => page.getByRole('navigation', { name: '運用メニュー' });
  let key = '';

  await step('the login page', async () => {
    await visit(page, '/login');
    await h1(page, '運用管理 ログイン');
    assert.equal(await menu().count(), 0, 'no menu before the login');
  });
  await check('login');
  await step('the issued password: the forced password change', async () => {
    await page.getByLabel('ログインID').fill(acc.login);
    await page.getByLabel('パスワード', { exact: true }).fill(acc.password);
    await go(page, page.getByRole('button', { name: '次へ' }), { path: '/password' });
    await h1(page, 'パスワードの変更');
    assert.match(await page.getByRole('status').innerText(), /初めてのログイン/);
  });
  await check('password');
  await step('a new password: the authenticator app, its QR code and key', async () => {
    await page.getByLabel('渡された初期パスワード').fill(acc.password);
    await page.getByLabel('新しいパスワード', { exact: true }).fill(data.newPassword);
    await page.getByLabel('新しいパスワード（確認）').fill(data.newPassword);
    await go(page, page.getByRole('button', { name: 'パスワードを変更する' }), { path: '/mfa' });
    await h1(page, '認証アプリの設定');
    const qr = page.getByRole('img', { name: '認証アプリで読み取るQRコード' });
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image loads under the CSP');
    key = (await page.locator('#mfa-secret').innerText()).replace(/\s/g, '');
    assert.match(key, /^[A-Z2-7]{32}$/);
  });
  await check('mfa');
  await step('the code from the app: logged in, the top page with its menu', async () => {
    await page.getByLabel('確認コード（6桁の数字）').fill(totp(key));
    await go(page, page.getByRole('button', { name: '設定してログインする' }), { path: '/' });
    await h1(page, '運用管理のトップ');
    assert.equal(await menu().count(), 1);
    assert.equal(await page.locator('#fleet-overview').count(), 1, 'the place kept for the fleet overview');
  });
  await check('home');
  await step('log out; a wrong password: the same page says why, keeps the ID, focus on the message', async () => {
    await go(page, menu().getByRole('button', { name: 'ログアウト' }), { path: '/login' });
    await page.getByLabel('ログインID').fill(acc.login);
    await page.getByLabel('パスワード', { exact: true }).fill(`${data.newPassword}x`);
    await go(page, page.getByRole('button', { name: '次へ' }), { path: '/login', status: 401 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus is on the message');
    const summary = page.getByRole('alert');
    assert.match(await summary.innerText(), /事業者の運用担当者にパスワードの再発行を依頼/);
    assert.equal(await page.getByLabel('ログインID').inputValue(), acc.login);
    assert.equal(await page.getByLabel('パスワード', { exact: true }).inputValue(), '', 'the password is never sent back');
  });
  await check('login-failed');
  await step('log in again: the password, then the code', async () => {
    await page.getByLabel('ログインID').fill(acc.login);
    await page.getByLabel('パスワード', { exact: true }).fill(data.newPassword);
    await go(page, page.getByRole('button', { name: '次へ' }), { path: '/login/code' });
    await h1(page, '確認コードの入力');
    assert.equal(await page.getByLabel('確認コード（6桁の数字）').getAttribute('autocomplete'), 'one-time-code');
  });
  await check('login-code');
  await step('the next code (the enrolment one is spent): the top page', async () => {
    await page.getByLabel('確認コード（6桁の数字）').fill(totp(key, Date.now() + 30_000));
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/' });
    await h1(page, '運用管理のトップ');
  });

  await step('open the onboarding form from the menu', async () => {
    await go(page, menu().getByRole('link', { name: '自治体の開設' }), { path: '/cities/new' });
    await h1(page, '自治体の開設');
  });
  await check('onboard');
  await step('a wrong municipality code: 422, focus on the summary, the field says why', async () => {
    await page.locator('#f-slug').fill(city.slug);
    await page.locator('#f-name').fill(city.name);
    await page.locator('#f-code').fill(city.badCode);
    await page.locator('#f-name_kana').fill(city.kana);
    await page.locator('#f-admin_login').fill(city.admin);
    await go(page, page.getByRole('button', { name: 'この内容で開設する' }), { path: '/cities', status: 422 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus is on the error summary');
    const code = page.locator('#f-code');
    assert.equal(await code.getAttribute('aria-invalid'), 'true');
    assert.equal(await code.inputValue(), city.badCode, 'the value typed is kept');
    assert.match(await page.locator('#e-code').innerText(), /検査数字（6桁目）が合いません/);
    assert.equal(await page.locator('#f-slug').inputValue(), city.slug);
    await page.getByRole('link', { name: /検査数字/ }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-code', 'the summary link leads to the field');
  });
  await check('onboard-error');
  await step('the right code: onboarded, the administrator\'s password shown once', async () => {
    await page.locator('#f-code').fill(city.code);
    await go(page, page.getByRole('button', { name: 'この内容で開設する' }), { path: '/cities' });
    await h1(page, `${city.name}を開設しました`);
    assert.match(await page.locator('#initial-password').innerText(), /^\S{12,}$/);
    assert.equal(await summaryValue(page, '市管理者のログインID'), city.admin);
    assert.match(await summaryValue(page, '職員向けの管理画面'), new RegExp(`^http://${city.slug}\\.localhost(:\\d+)?/admin$`));
  });
  await check('created');
  await step('the city\'s page and its support actions', async () => {
    await go(page, page.getByRole('link', { name: `${city.name}の画面へ` }), { path: `/cities/${city.slug}` });
    await h1(page, city.name);
    assert.equal(await summaryValue(page, '団体コード'), city.code);
    assert.equal(await summaryValue(page, '状態'), '利用中');
    for (const name of ['市管理者のパスワード再発行', '管理画面の接続元制限の解除', '独自ドメイン', 'メールの送信元ドメイン', '利用の停止']) {
      assert.equal(await page.getByRole('link', { name: new RegExp(`^${name}`) }).count(), 1, `an action "${name}"`);
    }
    assert.equal(await page.locator('#initial-password').count(), 0, 'the password is not shown again');
  });
  await check('city');
  for (const [link, path, title] of [
    ['市管理者のパスワード再発行', `/cities/${city.slug}/admin-reset`, `${city.name}の市管理者のパスワードを再発行します`],
    ['独自ドメイン', `/cities/${city.slug}/domains`, `${city.name}の独自ドメイン`],
    ['利用の停止', `/cities/${city.slug}/status`, `${city.name}の利用を停止しますか`],
  ]) {
    await step(`the support action "${link}": its check page`, async () => {
      await visit(page, `/cities/${city.slug}`);
      await go(page, page.getByRole('link', { name: new RegExp(`^${link}`) }), { path });
      await h1(page, title);
    });
    await check(`city-${path.split('/').pop()}`);
  }
  for (const [link, path, title] of [
    ['事業者アカウント', '/accounts', '事業者アカウント'],
    ['接続元IPアドレス', '/allow-list', '接続元IPアドレス'],
  ]) {
    await step(`the menu's "${link}"`, async () => {
      await go(page, menu().getByRole('link', { name: link }), { path });
      await h1(page, title);
    });
    await check(path.slice(1));
  }
  await step('the list of cities, searched by kana', async () => {
    await go(page, menu().getByRole('link', { name: '自治体の一覧' }), { path: '/cities' });
    await page.getByLabel('自治体を探す').fill(city.kana);
    await go(page, page.getByRole('button', { name: '検索する' }), { path: '/cities' });
    assert.equal(await page.getByRole('link', { name: city.name, exact: true }).count(), 1);
  });
  await check('cities');
  await step('the manual', async () => {
    await go(page, menu().getByRole('link', { name: '運用マニュアル' }), { path: '/help' });
    await h1(page, '運用マニュアル');
  });
  await check('help');
  await step('log out', async () => {
    await go(page, menu().getByRole('button', { name: 'ログアウト' }), { path: '/login' });
  });
});
