// An admin adds a staff account and reads its initial password (shown once), logs out; the new
// clerk logs in, must change the password first, then finds a card by number, opens its record
// and moves it along the lifecycle. Every page passes axe and fits a 360 px phone.
// data: { admin, adminPassword, logins: { phone, desktop }, cards: { phone, desktop } }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

// page checks every page gets: axe (WCAG 2.1 A/AA) and no sideways scrolling.
async function checkPage(page, label) {
  await checkA11y(page, label);
  await checkNoHorizontalScroll(page);
}

async function logIn(page, login, password) {
  await visit(page, '/admin/login');
  await page.getByLabel('ログインID').fill(login);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.waitForLoadState('load');
}

scenario('staff accounts and cards', async ({ page, viewport, step, shot }) => {
  const login = data.logins[viewport.name];
  const cardNo = data.cards[viewport.name];
  const newPassword = `tea by the window ${viewport.name}`;
  let initial = '';

  await step('admin logs in', async () => {
    await logIn(page, data.admin, data.adminPassword);
    await page.waitForURL(/\/admin$/);
  });
  await step('accounts list', async () => {
    await visit(page, '/admin/accounts');
    assert.match(await page.locator('h1').innerText(), /職員アカウント/);
    await checkPage(page, 'accounts');
    await shot('admin-accounts');
  });
  await step('add an account', async () => {
    await page.getByRole('link', { name: 'アカウントを追加' }).click();
    await page.waitForURL(/\/admin\/accounts\/new$/);
    await checkPage(page, 'new account');
    await page.getByLabel('ログインID').fill(login);
    await page.getByLabel('氏名').fill(`新人 ${viewport.name}`);
    await page.getByLabel('職員', { exact: true }).check();
    await page.getByRole('button', { name: '追加する' }).click();
    await page.waitForLoadState('load');
  });
  await step('the initial password is shown once, with its 72-hour note', async () => {
    initial = (await page.locator('#initial-password').innerText()).trim();
    assert.match(initial, /^[A-Za-z0-9_-]{16}$/);
    const body = await page.locator('main').innerText();
    assert.match(body, /一度だけ表示/);
    assert.match(body, /72時間/);
    await checkPage(page, 'initial password');
    await shot('admin-initial-password');
  });
  await step('the account page does not show it again', async () => {
    await page.getByRole('link', { name: 'アカウントの画面へ' }).click();
    await page.waitForURL(/\/admin\/accounts\/[0-9a-f-]{36}$/);
    assert.ok(!(await page.locator('main').innerText()).includes(initial));
    assert.match(await page.locator('#account-state').innerText(), /初回ログイン待ち/);
    await checkPage(page, 'account');
  });
  await step('audit log', async () => {
    await visit(page, '/admin/audit');
    assert.match(await page.locator('main').innerText(), /アカウント追加/);
    await checkPage(page, 'audit');
    await shot('admin-audit');
  });
  await step('admin logs out', async () => {
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(/\/admin\/login$/);
  });

  await step('the new clerk logs in and must change the password', async () => {
    await logIn(page, login, initial);
    await page.waitForURL(/\/admin\/password$/);
    assert.match(await page.locator('main').innerText(), /初めてのログインです/);
    await checkPage(page, 'forced password change');
    await page.getByLabel('現在のパスワード').fill(initial);
    await page.getByLabel('新しいパスワード', { exact: true }).fill(newPassword);
    await page.getByLabel('新しいパスワード（確認）').fill(newPassword);
    await page.getByRole('button', { name: 'パスワードを変更する' }).click();
    await page.waitForURL(/\/admin$/);
    assert.match(await page.locator('main').innerText(), /パスワードを変更しました/);
  });
  await step('cards: counts and search by number (typed full-width with a hyphen)', async () => {
    await visit(page, '/admin/cards');
    assert.match(await page.locator('main').innerText(), /状態別の枚数/);
    await checkPage(page, 'cards');
    const typed = (cardNo.slice(0, 3) + '-' + cardNo.slice(3)).replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
    await page.getByLabel('製造管理番号', { exact: true }).fill(typed);
    await page.getByRole('button', { name: '検索する' }).click();
    await page.waitForURL(/\/admin\/cards\?/);
    assert.match(await page.locator('#h-results').innerText(), /検索結果 1件/);
    await checkPage(page, 'card search results');
    await shot('staff-cards');
  });
  await step('card record', async () => {
    await page.getByRole('link', { name: cardNo }).click();
    await page.waitForURL(/\/admin\/cards\/[0-9a-f-]{36}$/);
    assert.match(await page.locator('h1').innerText(), new RegExp(cardNo));
    assert.match(await page.locator('#card-status').innerText(), /取込済/);
    assert.match(await page.locator('main').innerText(), /状態の履歴/);
    await checkPage(page, 'card record');
  });
  await step('change the status along the lifecycle', async () => {
    await page.getByLabel('変更後の状態').selectOption({ label: '通知書送付済' });
    await page.getByRole('button', { name: '状態を変更する' }).click();
    await page.waitForLoadState('load');
    assert.match(await page.locator('.notice').first().innerText(), /状態を変更しました/);
    assert.match(await page.locator('#card-status').innerText(), /通知書送付済/);
    const history = await page.locator('table').last().innerText();
    assert.ok(history.includes(login), 'the history names the clerk');
    await checkPage(page, 'card record after the change');
    await shot('staff-card-changed');
  });
  await step('clerk logs out', async () => {
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(/\/admin\/login$/);
  });
});
