// The whole citizen booking flow with JavaScript on, as a citizen holding the 交付通知書 does it:
// home → login (a wrong birthday first) → add a family member → place → calendar (month change
// without reload) → day → time → confirm (hold expiry, e-mail twice) → done (code, QR) → change to
// another time → done → cancel with its check page → logout. Every page passes axe (WCAG 2.1 AA),
// fits 360 px without sideways scrolling and is saved as a screenshot.
//
// Data from ui/e2e_citizen_test.go (TestE2ECitizenFlow):
//   { cards: { phone: [me, kid], desktop: [me, kid] } with each card { no, month, day },
//     location, otherLocation (names), email }
import { assert, checkA11y, scenario, visit } from './lib.mjs';
import { DATE_JA, checkPage, clockJST, fillCard, go, h1, summaryValue } from './citizen-common.mjs';

/** The header's language link comes back to this page: same path, every query parameter kept. */
async function languageLinkReturnsHere(page) {
  const href = await page.locator('header').getByRole('link', { name: 'English' }).getAttribute('href');
  const here = new URL(page.url());
  const next = new URL(new URL(href, here).searchParams.get('next') || '/', here);
  assert.equal(next.pathname, here.pathname, `language link ${href}`);
  for (const [k, v] of here.searchParams) assert.equal(next.searchParams.get(k), v, `language link ${href} keeps ${k}`);
}

/** Opens the day chosen earlier from the calendar, turning to the next month if it is there. */
async function openDay(page, href) {
  const link = page.locator(`a.day[href="${href}"]`);
  if ((await link.count()) === 0) {
    await page.getByRole('link', { name: /^次の月/ }).click();
    await link.waitFor();
  }
  await go(page, link, { path: '/times' });
}

scenario('citizen flow', async ({ page, data, viewport, step, shot: rawShot }) => {
  const [me, kid] = data.cards[viewport.name];
  let n = 0;
  const shot = (name) => rawShot(`citizen-${String(++n).padStart(2, '0')}-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);

  // ---- home and login ----
  await step('open the city top page', () => visit(page, '/'));
  await check('home');
  await step('start: the login page', async () => {
    await go(page, page.getByRole('link', { name: '予約・予約の確認・変更・取消はこちら' }), { path: '/login' });
    await h1(page, '交付通知書の番号と誕生日を入力してください');
  });
  await check('login');

  await step('log in with a wrong birthday: 401, one generic message, focus on it', async () => {
    await fillCard(page, me, { day: me.day === 1 ? 2 : 1 }); // a real date, but the wrong one
    await go(page, page.getByRole('button', { name: '次へ進む' }), { path: '/login', status: 401 });
    assert.match(await page.title(), /^エラー：/);
    const summary = page.locator('#error-summary');
    assert.match(await summary.innerText(), /製造管理番号または誕生日が正しくありません/);
    assert.equal(await summary.getAttribute('role'), 'alert');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus is on the error summary');
    // The number typed is kept; only the birthday needs retyping.
    assert.equal(await page.getByLabel('製造管理番号').inputValue(), me.no);
  });
  await check('login-error');
  await step('log in with the right birthday: the menu', async () => {
    await fillCard(page, me);
    await go(page, page.getByRole('button', { name: '次へ進む' }), { path: '/menu' });
    await h1(page, '予約の手続き');
    assert.match(await page.locator('main').innerText(), /受け取る人（1人）/);
  });
  await check('menu');

  // ---- family ----
  await step('add a family member: the form', async () => {
    await go(page, page.getByRole('link', { name: '一緒に受け取る家族を追加する' }), { path: '/family' });
    await h1(page, '一緒に受け取る家族を追加する');
    // Only the citizen's own birthday may be filled in by the browser (UX rule 8).
    assert.equal(await page.getByLabel('月', { exact: true }).getAttribute('autocomplete'), 'off');
  });
  await check('family');
  await step('add a family member: back on the menu with two people', async () => {
    await fillCard(page, kid);
    await go(page, page.getByRole('button', { name: '家族を追加する' }), { path: '/menu' });
    assert.match(await page.getByRole('status').innerText(), /家族を追加しました/);
    assert.match(await page.locator('main').innerText(), /受け取る人（2人）/);
    assert.equal(await page.locator('ul.people > li').count(), 2);
  });
  await check('menu-family');

  // ---- place ----
  await step('choose a place: the locations are listed', async () => {
    await go(page, page.getByRole('link', { name: '受け取る場所と日時を選ぶ' }), { path: '/locations' });
    await h1(page, '受け取る場所を選んでください');
    await page.getByRole('link', { name: data.location }).waitFor();
    await page.getByRole('link', { name: data.otherLocation }).waitFor();
  });
  await check('locations');

  // ---- calendar ----
  let dayHref;
  await step(`choose ${data.location}: the calendar`, async () => {
    await go(page, page.getByRole('link', { name: data.location }), { path: '/calendar' });
    await h1(page, '受け取りに来る日を選んでください');
    assert.match(await page.locator('p.caption').innerText(), new RegExp(`${data.location}（2人）`));
    assert.equal(await page.locator('table.cal th[scope="col"]').count(), 7);
  });
  await step('calendar: day links name the date, weekday and 残り', async () => {
    const days = page.locator('a.day');
    let count = await days.count();
    if (count === 0) {
      // Late in the month every bookable day may be in the next month.
      await page.getByRole('link', { name: /^次の月/ }).click();
      await page.locator('a.day').first().waitFor();
      count = await days.count();
    }
    assert.ok(count > 0, 'some day is bookable');
    assert.equal(await page.getByRole('link', { name: /残り\d+/ }).and(days).count(), count,
      'every day link has 残り in its accessible name');
    const snap = await days.first().ariaSnapshot();
    assert.match(snap, /link "\d+ 日 \d+月\d+日（[日月火水木金土]曜日） 残り\d+"/, snap);
    dayHref = await days.first().getAttribute('href');
    await languageLinkReturnsHere(page);
  });
  await check('calendar');

  await step('calendar: 次の月 swaps the month without a reload and focuses its caption', async () => {
    await page.evaluate(() => { window.__e2eNoReload = 'still here'; });
    const caption = page.locator('[data-cal-caption]');
    const before = (await caption.innerText()).trim();
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().headers()['x-partial'] === 'calendar'),
      page.getByRole('link', { name: /^次の月/ }).click(),
    ]);
    assert.equal(resp.status(), 200);
    await page.locator('[data-cal-caption]', { hasNotText: before }).waitFor();
    assert.equal(await page.evaluate(() => window.__e2eNoReload), 'still here', 'the page was not reloaded');
    assert.ok(await page.evaluate(() => document.activeElement?.matches('caption[data-cal-caption]')), 'focus is on the caption');
    assert.match(page.url(), /[?&]month=\d{4}-\d{2}/, 'the address names the month shown');
    const shown = (await caption.innerText()).trim();
    const live = await page.locator('[data-calendar-live]').innerText();
    assert.equal(live.trim(), shown, 'the month is announced');
    assert.equal(await page.locator('h1').count(), 1);
    // The month links name their month for screen readers: 「前の月（2026年11月）」.
    const prev = await page.locator('a[rel="prev"]').ariaSnapshot();
    assert.match(prev, new RegExp(`link "前の月\\s*（${before}）"`), `前の月 names the month: ${prev}`);
    await languageLinkReturnsHere(page);
  });
  await check('calendar-next-month');
  await step('calendar: 前の月 swaps back, still without a reload', async () => {
    const caption = page.locator('[data-cal-caption]');
    const shown = (await caption.innerText()).trim();
    await page.getByRole('link', { name: /^前の月/ }).click();
    await page.locator('[data-cal-caption]', { hasNotText: shown }).waitFor();
    assert.equal(await page.evaluate(() => window.__e2eNoReload), 'still here', 'the page was not reloaded');
    assert.ok(await page.evaluate(() => document.activeElement?.matches('caption[data-cal-caption]')), 'focus is on the caption');
  });

  await step('switching the language on the calendar keeps the place and month', async () => {
    const back = page.url();
    await go(page, page.locator('header').getByRole('link', { name: 'English' }), { path: '/calendar' });
    assert.equal(page.url(), back);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await h1(page, 'Choose a day');
    await checkA11y(page, 'calendar in English');
    await go(page, page.locator('header').getByRole('link', { name: '日本語' }), { path: '/calendar' });
    assert.equal(page.url(), back);
    await h1(page, '受け取りに来る日を選んでください');
  });

  // ---- day and time ----
  let firstTime;
  await step('choose a day: its times as radios', async () => {
    await openDay(page, dayHref);
    await h1(page, new RegExp(`^${DATE_JA.source}の時間を選んでください$`));
    const radios = page.getByRole('radio');
    assert.ok((await radios.count()) > 1, 'several times to choose from');
    for (let i = 0; i < (await radios.count()); i++) assert.equal(await radios.nth(i).isChecked(), false, 'no time is pre-selected');
    await languageLinkReturnsHere(page);
  });
  await check('times');
  await step('choose a time: the confirm page with the hold expiry', async () => {
    const label = page.locator('label.radio').first();
    firstTime = (await label.locator('span').first().innerText()).trim();
    await label.getByRole('radio').check();
    await go(page, page.getByRole('button', { name: 'この時間で予約に進む' }), { path: '/confirm' });
    await h1(page, '予約内容を確認してください');
    const notice = page.locator('[data-hold-expires]');
    const expires = Number(await notice.getAttribute('data-hold-expires'));
    const left = expires - Date.now() / 1000;
    assert.ok(left > 8 * 60 && left <= 10 * 60 + 5, `the hold runs about 10 minutes (${Math.round(left)} s left)`);
    assert.match(await notice.innerText(), new RegExp(`${clockJST(expires)} まで確保しています`));
    assert.match(await summaryValue(page, '日時'), new RegExp(`${DATE_JA.source} ${firstTime}`));
    assert.match(await summaryValue(page, '場所'), new RegExp(data.location));
    assert.match(await summaryValue(page, '人数'), /^2人/);
  });
  await check('confirm');
  await step('two minutes before the hold ends, the notice becomes an alert', async () => {
    await page.clock.install();
    await visit(page, '/confirm'); // the same hold, now with a controllable clock
    const notice = page.locator('[data-hold-expires]');
    const expires = Number(await notice.getAttribute('data-hold-expires')) * 1000;
    assert.equal(await notice.locator('[data-hold-text]').getAttribute('aria-live'), 'assertive');
    await page.clock.fastForward(Math.max(0, expires - Date.now() - 100_000)); // 1:40 left
    await page.clock.runFor(6_000); // the next check (every 5 s)
    assert.match(await notice.innerText(), /まで確保しています。.*残り2分を切りました。/s);
    assert.ok(await notice.evaluate((el) => el.classList.contains('warn')));
  });
  await check('confirm-hold-warning');
  await step('keep the time longer: the notice shows the new time, the page stays (WCAG 2.2.1)', async () => {
    const before = page.url();
    const notice = page.locator('[data-hold-expires]');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/hold/extend')),
      page.getByRole('button', { name: /時間を延長する/ }).click(),
    ]);
    assert.equal(resp.status(), 200);
    const body = await resp.json();
    const left = body.expires - Date.now() / 1000; // the server's clock, not the page's
    assert.ok(left > 9 * 60 && left <= 10 * 60 + 5, `extended to about 10 minutes from now (${Math.round(left)} s)`);
    await page.waitForFunction(() => !document.querySelector('[data-hold-expires]').classList.contains('warn'));
    assert.equal(page.url(), before);
    assert.match(await notice.innerText(), new RegExp(`${clockJST(body.expires)} まで確保しています。それまでに予約を確定してください。`));
    assert.doesNotMatch(await notice.innerText(), /残り2分/);
  });

  // ---- e-mail and booking ----
  await step('e-mail addresses that differ: 422, error summary focused, values kept', async () => {
    await page.getByLabel('メールアドレス', { exact: false }).first().fill(data.email);
    await page.getByLabel('確認のため、もう一度入力してください').fill(data.email.replace('@', '_@'));
    await go(page, page.getByRole('button', { name: 'この内容で予約する' }), { path: '/reserve', status: 422 });
    assert.match(await page.title(), /^エラー：/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary');
    const link = page.locator('#error-summary a');
    assert.match(await link.innerText(), /確認のメールアドレスが一致しません/);
    assert.equal(await link.getAttribute('href'), '#f-email2');
    assert.equal(await page.locator('#f-email2').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#f-email').inputValue(), data.email);
  });
  await check('confirm-error');
  let code, bookedWhen;
  await step('type the e-mail twice and book: the done page', async () => {
    await page.locator('#f-email2').fill(data.email);
    await go(page, page.getByRole('button', { name: 'この内容で予約する' }), { path: '/done' });
    await h1(page, '予約が完了しました');
  });
  await step('done: the code first and large, the QR code with alt, the date with its weekday', async () => {
    const codeEl = page.locator('.code');
    code = (await codeEl.innerText()).trim();
    assert.match(code, /^[0-9A-Z]{4} [0-9A-Z]{4}$/, `code ${code}`);
    const px = await codeEl.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    assert.ok(px >= 32, `code font-size ${px}px is large`);
    const qr = page.locator('img.qr');
    assert.equal(await qr.getAttribute('alt'), `予約番号 ${code.replace(' ', '')} のQRコード`);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR image loaded');
    bookedWhen = await summaryValue(page, '日時');
    assert.match(bookedWhen, new RegExp(`^${DATE_JA.source} ${firstTime}$`));
    assert.equal(await summaryValue(page, '予約番号'), code);
    assert.match(await page.locator('main').innerText(), /登録したメールアドレスに予約の控えをお送りしました/);
  });
  await check('done');

  // ---- change ----
  await step('done → the reservation page', async () => {
    await go(page, page.getByRole('link', { name: '予約の確認・変更・取消' }), { path: '/reservation' });
    await h1(page, '予約の内容');
    assert.equal(await summaryValue(page, '日時'), bookedWhen);
  });
  await check('reservation');
  await step('change: back to the places', async () => {
    await go(page, page.getByRole('button', { name: '日時・場所を変更する' }), { path: '/locations' });
    await h1(page, '受け取る場所を選んでください');
    assert.equal(await page.locator('a.back').getAttribute('href'), '/reservation', 'back returns to the reservation');
  });
  await check('change-locations');
  await step('change: the calendar', async () => {
    await go(page, page.getByRole('link', { name: data.location }), { path: '/calendar' });
    await h1(page, '受け取りに来る日を選んでください');
  });
  await check('change-calendar');
  let newTime;
  await step('change: the same day, where the booked time is now full', async () => {
    await openDay(page, dayHref);
    const full = page.locator('p.slot-full');
    assert.match(await full.first().innerText(), new RegExp(`${firstTime}\\s+満員`), 'the time booked by this party shows as full text');
    newTime = (await page.locator('label.radio span').first().innerText()).trim();
    assert.notEqual(newTime, firstTime);
  });
  await check('change-times');
  await step('change: pick another time; confirm shows 変更前の日時', async () => {
    await page.getByRole('radio').first().check();
    await go(page, page.getByRole('button', { name: 'この時間で予約に進む' }), { path: '/confirm' });
    await h1(page, '予約内容を確認してください');
    assert.match(await summaryValue(page, '変更前の日時'), new RegExp(`^${bookedWhen}`));
    assert.match(await summaryValue(page, '日時'), new RegExp(` ${newTime}$`));
    assert.equal(await page.locator('#f-email').count(), 0, 'no e-mail question when changing');
  });
  await check('change-confirm');
  await step('change: done with the same code and the new time', async () => {
    await go(page, page.getByRole('button', { name: 'この日時に変更する' }), { path: '/done' });
    await h1(page, '予約が完了しました');
    assert.equal((await page.locator('.code').innerText()).trim(), code, 'a change keeps the booking code');
    assert.match(await summaryValue(page, '日時'), new RegExp(`^${DATE_JA.source} ${newTime}$`));
  });
  await check('change-done');

  // ---- cancel ----
  await step('cancel: the check page', async () => {
    await go(page, page.getByRole('link', { name: '予約の確認・変更・取消' }), { path: '/reservation' });
    assert.match(await summaryValue(page, '日時'), new RegExp(` ${newTime}$`));
    await checkA11y(page, 'reservation after the change');
    await go(page, page.getByRole('link', { name: '予約を取り消す' }), { path: '/reservation/cancel' });
    await h1(page, '予約を取り消しますか');
    assert.match(await summaryValue(page, '日時'), new RegExp(` ${newTime}$`));
  });
  await check('cancel');
  await step('cancel: the menu says 予約を取り消しました', async () => {
    await go(page, page.getByRole('button', { name: '予約を取り消す' }), { path: '/menu' });
    await h1(page, '予約の手続き');
    assert.match(await page.getByRole('status').innerText(), /予約を取り消しました/);
    assert.equal(await page.getByRole('link', { name: '予約の確認・変更・取消' }).count(), 0, 'no reservation left');
  });
  await check('menu-cancelled');

  // ---- logout ----
  await step('log out: the top page; the menu asks to log in again', async () => {
    await go(page, page.getByRole('button', { name: 'ログアウト' }), { path: '/' });
    await h1(page, /マイナンバーカード/);
    await checkA11y(page, 'top page after logout');
    await visit(page, '/menu');
    assert.equal(new URL(page.url()).pathname, '/login');
  });
  await check('logged-out');
});
