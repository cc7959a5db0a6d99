// Staff daily work: log in, filter the bookings list, open a booking, cancel it on the citizen's
// behalf through the check page, and look at the CSV form and the A4 print views; the pick list
// is also rendered as print (emulated print media: screenshot and PDF).
// data: { login, password, day, dayLocations, bookings: { phone: { id, code }, desktop: { id, code } }, pickCards: [cardNo…] }
import { join } from 'node:path';
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, SCREENSHOTS, visit } from './lib.mjs';

const grouped = (code) => `${code.slice(0, 4)} ${code.slice(4)}`;

scenario('staff bookings', async ({ page, viewport, step, shot }) => {
  const mine = data.bookings[viewport.name];
  await step('log in', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード').fill(data.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin$/);
  });
  await step('bookings list', async () => {
    await visit(page, '/admin/bookings');
    assert.match(await page.locator('h1').innerText(), /予約の検索/);
    await checkA11y(page, 'bookings list');
    await checkNoHorizontalScroll(page);
  });
  await step('filter by booking code', async () => {
    await page.getByLabel('予約番号', { exact: true }).fill(mine.code.toLowerCase());
    await page.getByRole('button', { name: '検索する' }).click();
    await page.waitForURL(/code=/);
    const results = await page.locator('table.bookings tbody tr').count();
    assert.equal(results, 1, 'exactly the booking searched for');
    assert.match(await page.locator('[role=status]').innerText(), /1件中 1～1件目/);
    await checkA11y(page, 'bookings filtered');
    await checkNoHorizontalScroll(page);
    await shot('staff-bookings-list');
  });
  await step('open the booking', async () => {
    await page.getByRole('link', { name: grouped(mine.code) }).click();
    await page.waitForURL(new RegExp(`/admin/bookings/${mine.id}$`));
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(grouped(mine.code)));
    assert.match(text, /予約済/);
    await checkA11y(page, 'booking detail');
    await checkNoHorizontalScroll(page);
    await shot('staff-booking-detail');
  });
  await step('cancel: the check page first', async () => {
    await page.getByRole('link', { name: /予約を取り消す/ }).click();
    await page.waitForURL(new RegExp(`/admin/bookings/${mine.id}/cancel$`));
    assert.match(await page.locator('h1').innerText(), /予約の取消の確認/);
    await checkA11y(page, 'cancel check page');
    await checkNoHorizontalScroll(page);
    await shot('staff-booking-cancel-check');
  });
  await step('confirm the cancellation', async () => {
    await page.getByRole('button', { name: 'この予約を取り消す' }).click();
    await page.waitForURL(new RegExp(`/admin/bookings/${mine.id}$`));
    assert.match(await page.locator('.notice').innerText(), /予約を取り消しました/);
    assert.match(await page.locator('.summary').innerText(), /取消済/);
    assert.equal(await page.getByRole('link', { name: /予約を取り消す/ }).count(), 0, 'no cancel action left');
    await checkA11y(page, 'cancelled booking');
  });
  await step('CSV export form', async () => {
    await visit(page, '/admin/export');
    await checkA11y(page, 'export form');
    await checkNoHorizontalScroll(page);
  });
  await step('day list and summary', async () => {
    await visit(page, `/admin/print/day?date=${data.day}`);
    await checkA11y(page, 'day list');
    await checkNoHorizontalScroll(page);
    assert.equal(await page.locator('.print-section').count(), data.dayLocations, 'a section per location');
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: join(SCREENSHOTS, `staff-daylist-${viewport.name}.pdf`), preferCSSPageSize: true });
    assert.equal(pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)?.length, data.dayLocations, 'a printed page per location');
    await page.emulateMedia({ media: 'screen' });
    await visit(page, `/admin/print/summary`);
    await checkA11y(page, 'summary');
    await checkNoHorizontalScroll(page);
  });
  await step('pick list on screen', async () => {
    await visit(page, `/admin/print/picklist?date=${data.day}`);
    assert.ok(await page.getByRole('button', { name: '印刷する' }).isVisible(), 'print.js shows the print button');
    const positions = await page.locator('table.picklist tbody td.pos').allInnerTexts();
    assert.deepEqual(positions, [...positions].sort((a, b) => a.localeCompare(b, 'ja', { numeric: true })), 'sorted by storage position');
    for (const no of data.pickCards) {
      assert.ok((await page.locator('table.picklist').innerText()).includes(no), `card ${no} on the pick list`);
    }
    // Every card on the list has its barcode (the desktop run's booking is still booked during the phone run).
    assert.equal(await page.locator('img.barcode').count(), positions.length);
    assert.ok(positions.length >= data.pickCards.length);
    await checkA11y(page, 'pick list');
    await checkNoHorizontalScroll(page);
  });
  await step('pick list as printed', async () => {
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.print-controls').isVisible(), false, 'navigation and form are not printed');
    assert.equal(await page.locator('.site-header').isVisible(), false, 'the site header is not printed');
    assert.ok(await page.locator('table.picklist').isVisible());
    await shot('staff-picklist-print');
    await page.pdf({ path: join(SCREENSHOTS, `staff-picklist-${viewport.name}.pdf`), preferCSSPageSize: true, printBackground: false });
    await page.emulateMedia({ media: 'screen' });
  });
});
