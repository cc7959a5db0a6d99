// A clerk opens the monthly report (実績報告) of last month: the figures per place as a table and
// an SVG chart, the month's uptime, incidents and maintenance; a month typed wrongly is refused
// with the reason; the A4 print view shows the chart too. Every page passes axe and fits a 360 px
// phone.
// data: { login, password, month, place }
import { assert, checkA11y, checkNoHorizontalScroll, data, scenario, visit } from './lib.mjs';

async function checkPage(page, label) {
  await checkA11y(page, label);
  await checkNoHorizontalScroll(page);
}

scenario('staff monthly report: screen, bad month, print', async ({ page, viewport, step, shot }) => {
  await step('clerk logs in', async () => {
    await visit(page, '/admin/login');
    await page.getByLabel('ログインID').fill(data.login);
    await page.getByLabel('パスワード', { exact: true }).fill(data.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin$/);
  });
  await step('the report is in the staff menu and shows a month chosen in the month field', async () => {
    await page.getByRole('link', { name: '実績報告（月次）' }).click();
    await page.waitForURL(/\/admin\/reports$/);
    await page.getByLabel('対象の月').fill(data.month);
    await page.getByRole('button', { name: '表示' }).click();
    await page.waitForURL(/\/admin\/reports\?month=/);
    const [y, m] = data.month.split('-').map(Number);
    assert.match(await page.locator('h1').innerText(), new RegExp(`実績報告 ${y}年${m}月`));
    const table = page.locator('#report-table');
    assert.match(await table.innerText(), new RegExp(data.place));
    assert.match(await table.innerText(), /合計/);
    const chart = page.locator('#report-chart');
    assert.ok(await chart.isVisible(), 'the chart is shown');
    assert.match(await chart.textContent(), new RegExp(data.place));
    const box = await chart.boundingBox();
    assert.ok(box.width <= viewport.width, 'the chart fits the screen');
    assert.match(await page.locator('#report-incidents').innerText(), /予約画面の表示の遅れ/);
    await checkPage(page, 'monthly report');
    await shot('staff-report');
  });
  await step('a month that does not exist is refused with the reason', async () => {
    await visit(page, '/admin/reports?month=2026-13', { status: 422 });
    assert.match(await page.locator('#error-summary').innerText(), /半角の年（4桁）と月（2桁）/);
    await checkPage(page, 'monthly report refused');
  });
  await step('print view with the chart', async () => {
    await visit(page, `/admin/reports/print?month=${data.month}`);
    assert.ok(await page.locator('.print-doc #report-chart').isVisible(), 'the print shows the chart');
    await checkPage(page, 'monthly report print');
    await shot('staff-report-print');
  });
});
