// Staff book on a citizen's behalf (channel "staff"): from the bookings list to 「新しい予約」,
// a refused number named with its line, two cards (one typed in full-width digits), the place,
// a day on the calendar, a time held, the check page with e-mail (desktop) or none (phone),
// 「予約する」, the detail page with the booking code, and the booking in the list. Then 「来庁なし」
// is recorded for a booking whose time has passed, through its check page.
// data: { login, password, location, unknown, cards: { phone: [no, no], desktop: [no, no] },
//         noShow: { phone: id, desktop: id } }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

const wide = (s) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

scenario('staff new booking', async ({ page, viewport, step, shot }) => {
  const [first, second] = data.cards[viewport.name];
  let code = '';
  await step('log in', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin$/);
  });
  await step('from the bookings list to 新しい予約', async () => {
    await visit(page, '/admin/bookings');
    await page.locator('main h1 + p').getByRole('link', { name: '新しい予約' }).click();
    await page.waitForURL(/\/admin\/bookings\/new$/);
    await checkA11y(page, 'card numbers');
    await checkNoHorizontalScroll(page);
  });
  await step('an unknown number is refused with its line', async () => {
    await page.getByLabel('1人目').fill(data.unknown);
    await page.getByRole('button', { name: '次へ（交付場所を選ぶ）' }).click();
    await page.waitForLoadState('load');
    assert.match(await page.locator('.error-summary').innerText(), /1人目：この番号のカードは/);
    assert.equal(await page.getByLabel('1人目').getAttribute('aria-invalid'), 'true');
    await checkA11y(page, 'card numbers with an error');
    await checkNoHorizontalScroll(page);
    await shot('staff-new-booking-error');
  });
  await step('two cards, one in full-width digits', async () => {
    await page.getByLabel('1人目').fill(wide(first.slice(0, 3)) + '－' + wide(first.slice(3)));
    await page.getByLabel('2人目').fill(second);
    await page.getByRole('button', { name: '次へ（交付場所を選ぶ）' }).click();
    await page.waitForURL(/\/admin\/bookings\/new\/place\?/);
    await checkA11y(page, 'place');
    await checkNoHorizontalScroll(page);
    await page.getByRole('link', { name: data.location }).click();
    await page.waitForURL(/\/admin\/bookings\/new\/calendar\?/);
  });
  await step('a day on the calendar', async () => {
    assert.match(await page.locator('.caption').innerText(), /（2人）/);
    await checkA11y(page, 'calendar');
    await checkNoHorizontalScroll(page);
    await shot('staff-new-booking-calendar');
    await page.locator('table.cal a.day').first().click();
    await page.waitForURL(/\/admin\/bookings\/new\/times\?/);
  });
  await step('a time, held', async () => {
    await checkA11y(page, 'times');
    await checkNoHorizontalScroll(page);
    await page.locator('input[name=slot]').first().check();
    await page.getByRole('button', { name: 'この時間を確保して次へ' }).click();
    await page.waitForURL(/\/admin\/bookings\/new\/confirm\?/);
    assert.match(await page.locator('.notice').innerText(), /まで確保しています/);
    const summary = await page.locator('.summary').innerText();
    assert.ok(summary.includes(first) && summary.includes(second), 'both cards on the check page');
  });
  await step('check page and 予約する', async () => {
    if (viewport.name === 'desktop') {
      await page.getByLabel('確認メールの送り先').fill('family@example.jp');
      await page.getByLabel('確認のため、もう一度入力').fill('family@example.jp');
      await page.getByLabel('English').check();
    }
    await checkA11y(page, 'check page');
    await checkNoHorizontalScroll(page);
    await shot('staff-new-booking-confirm');
    await page.getByRole('button', { name: '予約する', exact: true }).click();
    await page.waitForURL(/\/admin\/bookings\/[0-9a-f-]{36}$/);
    assert.match(await page.locator('.notice').innerText(), /予約を登録しました/);
    const summary = await page.locator('.summary').innerText();
    assert.match(summary, /窓口（職員）/);
    assert.match(summary, viewport.name === 'desktop' ? /登録あり/ : /登録なし/);
    code = (await page.locator('.summary dd.mono').first().innerText()).trim();
    assert.match(code, /^\S{4} \S{4}$/, 'the booking code is shown');
    const cards = await page.locator('table[aria-labelledby="cards"]').innerText();
    assert.ok(cards.includes(first) && cards.includes(second), 'both cards on the booking');
    await checkA11y(page, 'booked');
    await checkNoHorizontalScroll(page);
    await shot('staff-new-booking-done');
  });
  await step('the booking is in the list', async () => {
    await visit(page, `/admin/bookings?code=${encodeURIComponent(code)}&from=`);
    const rows = page.locator('table.bookings tbody tr');
    assert.equal(await rows.count(), 1);
    assert.ok((await rows.first().innerText()).includes(code));
    await checkA11y(page, 'list with the new booking');
  });
  await step('来庁なし for a past booking', async () => {
    const id = data.noShow[viewport.name];
    await visit(page, `/admin/bookings/${id}`);
    await page.getByRole('link', { name: /来庁なしとして記録する/ }).click();
    await page.waitForURL(new RegExp(`/admin/bookings/${id}/no-show$`));
    assert.match(await page.locator('h1').innerText(), /来庁なしの記録の確認/);
    await checkA11y(page, 'no-show check page');
    await checkNoHorizontalScroll(page);
    await page.getByRole('button', { name: '来庁なしとして記録する' }).click();
    await page.waitForURL(new RegExp(`/admin/bookings/${id}$`));
    assert.match(await page.locator('.notice').innerText(), /来庁なしとして記録しました/);
    assert.match(await page.locator('.summary').innerText(), /未来庁/);
    await checkA11y(page, 'no-show recorded');
  });
});
