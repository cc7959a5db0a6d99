// The 市管理者 rewords the confirmation mail: from the settings page to the list of mails → the
// Japanese confirmation → a subject with an unknown placeholder is refused (422, the summary has
// focus, the placeholder is named) → プレビュー shows the mail made from a sample booking, as text →
// 保存 → 既定の文面に戻す, through its check page → log out. Every page passes axe (WCAG 2.1 AA)
// and fits 360 px without sideways scrolling.
//
// Data from ui/e2e_admin_mail_test.go (TestE2EAdminMail): { login, password, city }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';

const EDIT = '/admin/settings/mail/reservation_created/ja';

scenario('admin mail wording', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`mail-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const status = () => page.getByRole('status').innerText();
  const subject = `【{{.City}}】受取のご予約 {{.Code}}（${viewport.name}）`;

  await step('log in as the 市管理者', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin' });
  });
  await step('from the settings to the list of mails: every kind in both languages, all default', async () => {
    await visit(page, '/admin/settings');
    await go(page, page.locator('main > ul').getByRole('link', { name: 'メールの文面' }), { path: '/admin/settings/mail' });
    await h1(page, 'メールの文面');
    const table = await page.locator('table').innerText();
    for (const kind of ['確認メール', '変更メール', '取消メール', '前日のお知らせ']) assert.match(table, new RegExp(kind));
    assert.equal(await page.getByRole('row').filter({ hasText: '既定の文面' }).count(), 8);
  });
  await check('list');
  await step('open the Japanese confirmation: the current wording and the placeholders', async () => {
    await go(page, page.getByRole('link', { name: /文面を編集する\s*（確認メール・日本語）/ }), { path: EDIT });
    await h1(page, '確認メール（日本語）の文面');
    assert.match(await page.locator('#mail-state').innerText(), /既定の文面を使っています/);
    assert.match(await page.getByLabel('件名').inputValue(), /予約番号 \{\{\.Code\}\}/);
    assert.match(await page.locator('.placeholders').innerText(), /\{\{\.When\}\}：来庁の日時.*（必須）/);
  });
  await check('edit');
  await step('a subject with an unknown placeholder is refused: 422, the summary has focus, the name shown', async () => {
    await page.getByLabel('件名').fill('{{.Name}}様 ご予約 {{.Code}}');
    await go(page, page.getByRole('button', { name: '保存', exact: true }), { path: EDIT, status: 422 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus is on the error summary');
    const field = page.getByLabel('件名');
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await field.inputValue(), '{{.Name}}様 ご予約 {{.Code}}', 'the input is kept');
    assert.match(await page.locator('#e-subject').innerText(), /使えない差し込み項目があります：\{\{\.Name\}\}/);
  });
  await check('edit-error');
  await step('プレビュー: the mail made from a sample booking, the markup shown as text, nothing saved', async () => {
    await page.getByLabel('件名').fill(subject);
    const body = await page.getByLabel('本文').inputValue();
    await page.getByLabel('本文').fill(`<b>${viewport.name}</b> のご予約です。\n` + body);
    await go(page, page.getByRole('button', { name: 'プレビュー' }), { path: `${EDIT}/preview` });
    assert.equal(await page.locator('#preview-subject').innerText(), `【${data.city}】受取のご予約 K7M2QX9D（${viewport.name}）`);
    const text = await page.locator('#preview-body').innerText();
    assert.ok(text.startsWith(`<b>${viewport.name}</b> のご予約です。`), 'markup is shown as typed, not rendered');
    assert.match(text, /K7M2 QX9D/);
    assert.match(text, /\d{4}年\d{1,2}月\d{1,2}日（[月火水木金]）10:00～10:30/);
    assert.match(text, /本庁/);
    assert.equal(await page.locator('#preview-body b').count(), 0);
    assert.equal(await page.getByLabel('件名').inputValue(), subject, 'the form keeps the input');
    assert.match(await page.locator('#mail-state').innerText(), /既定の文面を使っています/);
  });
  await check('preview');
  await step('保存: a flash, the city’s wording in use', async () => {
    await go(page, page.getByRole('button', { name: '保存', exact: true }), { path: EDIT });
    assert.match(await status(), /メールの文面を保存しました/);
    assert.match(await page.locator('#mail-state').innerText(), /市で変更した文面を使っています.*kanri/);
    assert.equal(await page.getByLabel('件名').inputValue(), subject);
  });
  await check('saved');
  await step('the list marks it as changed', async () => {
    await go(page, page.getByRole('link', { name: 'メールの文面', exact: true }).last(), { path: '/admin/settings/mail' });
    const row = page.getByRole('row').filter({ hasText: '確認メール' }).filter({ hasText: '日本語' });
    assert.match(await row.innerText(), /市で変更した文面/);
    await go(page, page.getByRole('link', { name: /文面を編集する\s*（確認メール・日本語）/ }), { path: EDIT });
  });
  await step('既定の文面に戻す: the check page shows both subjects', async () => {
    await go(page, page.getByRole('link', { name: '既定の文面に戻す' }), { path: `${EDIT}/reset` });
    await h1(page, '既定の文面に戻しますか');
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(subject), 'the current subject');
    assert.match(text, /マイナンバーカード受け取りのご予約を受け付けました/);
  });
  await check('reset');
  await step('go back to the default: a flash, the default wording in the form', async () => {
    await go(page, page.getByRole('button', { name: '既定の文面に戻す' }), { path: EDIT });
    assert.match(await status(), /既定の文面に戻しました/);
    assert.match(await page.locator('#mail-state').innerText(), /既定の文面を使っています/);
    assert.match(await page.getByLabel('件名').inputValue(), /^【\{\{\.City\}\}】マイナンバーカード受け取りのご予約を受け付けました/);
  });
  await step('log out', async () => {
    await go(page, page.getByRole('button', { name: 'ログアウト' }), { path: '/admin/login' });
  });
});
