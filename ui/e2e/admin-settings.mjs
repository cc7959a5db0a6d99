// The 市管理者 sets the city up: log in → change settings (a wrong value first; also how long
// e-mail addresses are kept) → add a 交付場所 →
// enter its weekly opening hours → add a 夜間窓口 on one evening → look at the delete check page →
// open both in-app manuals → log out. Every page passes axe (WCAG 2.1 AA), fits 360 px without
// sideways scrolling, and is saved as ui/e2e/screenshots/help-*-{phone,desktop}.png for the
// manuals and training material (spec 3(6), 3(7)エ).
//
// Data from ui/e2e_admin_settings_test.go (TestE2EAdminSettings):
//   { login, password, evening: "YYYY-MM-DD" (a working weekday at least a week ahead) }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';

scenario('admin settings', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`help-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const place = `嬉野地域振興局（${viewport.name}）`;
  const status = () => page.getByRole('status').innerText();

  await step('open the staff login page', () => visit(page, '/admin/login'));
  await check('login');
  await step('log in as the 市管理者: the dashboard', async () => {
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/admin' });
    await h1(page, '本日と明日の予約');
  });
  await check('dashboard');
  await step('the check-in page', () => visit(page, '/admin/checkin'));
  await check('checkin');

  // ---- settings ----
  await step('open the settings', async () => {
    await visit(page, '/admin/settings');
    await h1(page, 'システム設定');
    assert.match(await page.locator('main').innerText(), /10秒ほどで反映されます/);
  });
  await check('settings');
  await step('a period of 7 days is refused: 422, the summary has focus, the field says why', async () => {
    await page.getByLabel('予約を受け付ける期間（日数）').fill('7');
    await go(page, page.getByRole('button', { name: '設定を保存する' }), { path: '/admin/settings', status: 422 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus is on the error summary');
    const field = page.getByLabel('予約を受け付ける期間（日数）');
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await field.inputValue(), '7', 'the value typed is kept');
    assert.match(await page.locator('#e-horizon_days').innerText(), /14から365までの数字/);
  });
  await check('settings-error');
  await step('fix it, set the deadline to two days before and save: a flash, the values kept', async () => {
    await page.getByLabel('予約を受け付ける期間（日数）').fill('90');
    await page.getByLabel('予約の締切（開庁何日前まで）').fill('２'); // full-width, as typed with the IME on
    await page.getByLabel('コールセンターの電話番号').fill('0598-53-4000');
    await page.getByLabel('メールアドレスの保存期間（日数）').fill('45');
    await go(page, page.getByRole('button', { name: '設定を保存する' }), { path: '/admin/settings' });
    assert.match(await status(), /設定を保存しました/);
    assert.equal(await page.getByLabel('予約の締切（開庁何日前まで）').inputValue(), '2');
    assert.equal(await page.getByLabel('メールアドレスの保存期間（日数）').inputValue(), '45');
  });
  await check('settings-saved');

  // ---- locations ----
  await step('the locations, from the settings page', async () => {
    // The list under 関連する設定とマニュアル (the staff menu has the same link).
    await go(page, page.locator('main > ul').getByRole('link', { name: '交付場所の設定' }), { path: '/admin/locations' });
    await h1(page, '交付場所の設定');
  });
  await check('locations');
  await step('add a location: the form', async () => {
    await go(page, page.getByRole('link', { name: '交付場所を追加する' }), { path: '/admin/locations/new' });
    await h1(page, '交付場所を追加');
    assert.equal(await page.getByLabel('予約を受け付ける').isChecked(), true, 'a new location takes bookings');
  });
  await check('location-new');
  await step('add it: on to its opening hours', async () => {
    await page.getByLabel('交付場所の名称').fill(place);
    await page.getByLabel('所在地').fill('松阪市嬉野町1');
    await page.getByLabel('持ち物・ご案内').fill('交付通知書\n本人確認書類（運転免許証など）\n通知カード');
    await go(page, page.getByRole('button', { name: '追加する' }), { path: undefined });
    assert.match(new URL(page.url()).pathname, /^\/admin\/locations\/[0-9a-f-]{36}\/schedule$/);
    await h1(page, `受付時間の設定：${place}`);
    assert.match(await status(), /交付場所を追加しました/);
  });

  // ---- weekly hours ----
  await step('enter weekday hours: mornings Monday to Friday, and a Monday afternoon', async () => {
    for (const day of ['月曜日', '火曜日', '水曜日', '木曜日', '金曜日']) {
      await page.getByLabel(`開始（${day}・1行目）`, { exact: true }).fill('9:00');
      await page.getByLabel(`終了（${day}・1行目）`, { exact: true }).fill('12:00');
      await page.getByLabel(`定員（人）（${day}・1行目）`, { exact: true }).fill('2');
    }
    await page.getByLabel('開始（月曜日・2行目）', { exact: true }).fill('13:00');
    await page.getByLabel('終了（月曜日・2行目）', { exact: true }).fill('16:00');
    await page.getByLabel('1枠の長さ（月曜日・2行目）', { exact: true }).selectOption('60');
    await page.getByLabel('定員（人）（月曜日・2行目）', { exact: true }).fill('1');
  });
  await check('schedule-entry');
  await step('save the weekly hours: a flash, the rows kept, a remove box on each', async () => {
    await go(page, page.getByRole('button', { name: '毎週の受付時間を保存する' }));
    assert.match(await status(), /毎週の受付時間を保存し/);
    assert.equal(await page.getByLabel('開始（月曜日・2行目）', { exact: true }).inputValue(), '13:00');
    assert.equal(await page.getByLabel('1枠の長さ（月曜日・2行目）', { exact: true }).inputValue(), '60');
    assert.equal(await page.getByRole('checkbox', { name: /この行を削除\s*（月曜日・2行目）/ }).count(), 1);
  });
  await check('schedule');

  // ---- 夜間窓口 ----
  await step('add a 夜間窓口 on one evening', async () => {
    await page.getByLabel('日付').fill(data.evening);
    await page.getByLabel('受付枠を追加する（休日開庁・夜間窓口）').check();
    await page.getByLabel('開始', { exact: true }).fill('17:15');
    await page.getByLabel('終了', { exact: true }).fill('19:00');
    await page.getByLabel('1枠の長さ', { exact: true }).selectOption('15');
    await page.getByLabel('1枠の定員（人）').fill('1');
    await page.getByLabel('メモ').fill('夜間窓口');
    await go(page, page.getByRole('button', { name: '特別な日を追加する' }));
    assert.match(await status(), /特別な日の設定を追加し/);
    const list = await page.locator('#overrides + p + ul').innerText();
    assert.match(list, /17:15～19:00（15分ごと、1枠1人）/);
    assert.match(list, /夜間窓口/);
  });
  await check('schedule-override');
  await step('its delete link leads to a check page; go back without deleting', async () => {
    await go(page, page.getByRole('link', { name: /^削除/ }).first());
    await h1(page, '特別な日の設定を削除しますか');
  });
  await check('schedule-delete');
  await step('back to the opening hours, the 夜間窓口 still there', async () => {
    await go(page, page.getByRole('link', { name: '削除しないで戻る' }));
    assert.match(await page.locator('main').innerText(), /17:15～19:00/);
  });

  // ---- manuals ----
  await step('the 操作マニュアル', async () => {
    await visit(page, '/admin/help');
    await h1(page, '操作マニュアル（職員向け）');
    await page.getByRole('link', { name: '来庁受付（バーコードリーダー）' }).click(); // the table of contents
    await page.waitForURL(/#checkin$/);
  });
  await check('manual');
  await step('the 運用マニュアル, from the 操作マニュアル', async () => {
    await go(page, page.getByRole('link', { name: '運用マニュアル' }).first(), { path: '/admin/help/operations' });
    await h1(page, '運用マニュアル（市管理者向け）');
    const text = await page.locator('main').innerText();
    assert.match(text, /2日前まで/, 'the manual shows the city’s own deadline');
    assert.match(text, /0598-53-4000/, 'and its call center');
    assert.match(text, /予約の取消から45日後に消去します/, 'and its retention period for e-mail');
  });
  await check('operations');
  await step('log out', async () => {
    await go(page, page.getByRole('button', { name: 'ログアウト' }), { path: '/admin/login' });
  });
});
