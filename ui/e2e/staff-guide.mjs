// A clerk opens the citizens' printable guide from the manual: on screen at 360 and 1280 px, and
// at 1280 px as printed (print media): the controls gone, the city's address and QR code, its
// place and phone number; axe on both; then the same PDF `make manuals` makes (savePDF).
// data: { login, password, site, place, phone, pdf }
import { assert, checkA11y, checkNoHorizontalScroll, data, savePDF, scenario, staffLogin, visit } from './lib.mjs';

scenario('staff: the citizens\' printable guide', async ({ page, viewport, step, shot }) => {
  await step('clerk logs in', () => staffLogin(page, data.login, data.password));
  await step('the manual links to the guide', async () => {
    await visit(page, '/admin/help');
    await page.getByRole('link', { name: '市民向けの予約案内（印刷用）' }).click();
    await page.waitForURL(/\/admin\/help\/guide$/);
  });
  await step('on screen: the guide with the print button', async () => {
    assert.match(await page.locator('h1').innerText(), /マイナンバーカードの受け取りは、インターネットで予約できます/);
    assert.equal((await page.locator('#guide-url').innerText()).trim(), data.site);
    assert.ok(await page.getByRole('img', { name: '予約サイトのアドレスのQRコード' }).isVisible(), 'the QR code is shown');
    assert.ok(await page.getByRole('button', { name: '印刷する' }).isVisible(), 'the print button is shown');
    assert.match(await page.locator('.guide-places').innerText(), new RegExp(data.place));
    await checkA11y(page, 'guide on screen');
    await checkNoHorizontalScroll(page);
  });
  if (viewport.name !== 'desktop') return;
  await step('as printed: only the guide, large type, the phone number', async () => {
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.print-controls').isVisible(), false, 'the controls are not printed');
    assert.equal(await page.locator('.site-header').isVisible(), false, 'the site header is not printed');
    assert.equal((await page.locator('#guide-tel').innerText()).trim(), data.phone);
    const size = await page.locator('.guide-url').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    assert.ok(size >= 24, `the address is printed large (${size} px)`);
    const qr = await page.locator('svg.qr').boundingBox();
    assert.ok(qr && qr.width >= 120, `the QR code is printed large enough to scan (${qr?.width} px)`);
    await checkA11y(page, 'guide as printed');
    await shot('staff-guide');
  });
  await step('the PDF, as make manuals prints it', async () => {
    await savePDF(page, data.pdf);
    await page.emulateMedia({ media: null });
  });
});
