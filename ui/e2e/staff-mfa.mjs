// A clerk sets up two-step verification (認証アプリ): opens 二段階認証 from the staff menu, sees
// the QR code and the setup key, types a wrong code first (422, the summary has focus), then
// the code the app would show with the current password (re-authentication), logs out, logs in with the password and a code on the second page.
// The script plays the phone: it computes RFC 6238 codes from the key shown on the page
// (totp.mjs). Every page passes axe (WCAG 2.1 A/AA) and fits 360 px.
//
// Data from ui/e2e_staff_mfa_test.go (TestE2EStaffMFA): { logins: { phone, desktop }, password }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';
import { totp } from './totp.mjs';

scenario('staff two-step verification', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`mfa-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const login = data.logins[viewport.name];
  let key = '';

  const logIn = async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(login);
    await page.getByLabel('パスワード').fill(data.password);
  };

  await step('log in with the password only: the dashboard', async () => {
    await logIn();
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin' });
    await h1(page, '本日と明日の予約');
  });
  await step('open 二段階認証 from the staff menu: steps, QR code and key', async () => {
    await go(page, page.getByRole('navigation', { name: '職員メニュー' }).getByRole('link', { name: '二段階認証（認証アプリ）' }), { path: '/admin/mfa' });
    await h1(page, '二段階認証（認証アプリ）');
    const text = await page.locator('main').innerText();
    assert.match(text, /Google Authenticator/);
    assert.match(text, /Microsoft Authenticator/);
    const qr = page.getByRole('img', { name: '認証アプリで読み取るQRコード' });
    assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image loads under the CSP');
    key = (await page.locator('#mfa-secret').innerText()).replace(/\s/g, '');
    assert.match(key, /^[A-Z2-7]{32}$/);
  });
  await check('setup');
  await step('a wrong code is refused: 422, focus on the summary, the field says why', async () => {
    await page.getByLabel('現在のパスワード').fill(data.password);
    await page.getByLabel('確認コード（6桁の数字）').fill('000000');
    await go(page, page.getByRole('button', { name: '設定する' }), { path: '/admin/mfa/enable', status: 422 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus is on the error summary');
    assert.equal(await page.getByLabel('確認コード（6桁の数字）').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#e-code').innerText(), /確認コードが正しくありません/);
    assert.equal((await page.locator('#mfa-secret').innerText()).replace(/\s/g, ''), key, 'the same key is shown again');
  });
  await check('setup-error');
  await step('the password and the code from the app: set up, the key is not shown again', async () => {
    await page.getByLabel('現在のパスワード').fill(data.password);
    await page.getByLabel('確認コード（6桁の数字）').fill(totp(key));
    await go(page, page.getByRole('button', { name: '設定する' }), { path: '/admin/mfa' });
    assert.match(await page.getByRole('status').innerText(), /二段階認証を設定しました/);
    assert.equal(await page.locator('#mfa-secret').count(), 0);
    assert.match(await page.locator('#mfa-state').innerText(), /設定済み/);
  });
  await check('on');
  await step('log out', async () => {
    await go(page, page.getByRole('button', { name: 'ログアウト' }), { path: '/admin/login' });
  });
  await step('log in: after the password, the code page', async () => {
    await logIn();
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin/login/code' });
    await h1(page, '確認コードの入力');
    assert.equal(await page.getByLabel('確認コード（6桁の数字）').getAttribute('autocomplete'), 'one-time-code');
  });
  await check('login-code');
  await step('the next code from the app (the enrolment one is spent): the dashboard', async () => {
    await page.getByLabel('確認コード（6桁の数字）').fill(totp(key, Date.now() + 30_000));
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin' });
    await h1(page, '本日と明日の予約');
  });
  await step('log out again', async () => {
    await go(page, page.getByRole('button', { name: 'ログアウト' }), { path: '/admin/login' });
  });
});
