// Helpers shared by the citizen scenarios (citizen.mjs, citizen-nojs.mjs, citizen-en.mjs).
import { assert, checkA11y, checkNoHorizontalScroll } from './lib.mjs';

/**
 * Runs action (a click or a form submit) and waits for the page it leads to: the final document
 * response after any redirects (a POST answered 303 and the GET that follows). Returns that
 * response so the caller can check its status.
 */
export async function navigate(page, action) {
  const [resp] = await Promise.all([
    page.waitForEvent('response', (r) => {
      const req = r.request();
      return req.isNavigationRequest() && req.frame() === page.mainFrame() && !(r.status() >= 300 && r.status() < 400);
    }),
    action(),
  ]);
  await page.waitForLoadState('load');
  return resp;
}

/** Clicks the button or link and asserts the page it leads to (path and HTTP status). */
export async function go(page, locator, { path, status = 200 } = {}) {
  const resp = await navigate(page, () => locator.click());
  assert.equal(resp.status(), status, `${resp.request().method()} ${resp.url()}: HTTP ${resp.status()}, want ${status}`);
  if (path) assert.equal(new URL(page.url()).pathname, path, `landed on ${page.url()}, want ${path}`);
  return resp;
}

/** Asserts the page has exactly one h1 and that it matches want (string: exact text; RegExp). */
export async function h1(page, want) {
  const h = page.locator('h1');
  assert.equal(await h.count(), 1, 'exactly one h1');
  const text = (await h.innerText()).trim();
  if (want instanceof RegExp) assert.match(text, want);
  else assert.equal(text, want);
}

/**
 * The checks every page gets: axe WCAG 2.1 A/AA with no violations, no sideways scrolling on the
 * phone, one h1, and a full-page screenshot.
 */
export async function checkPage(page, step, shot, viewport, name) {
  await step(`${name}: axe WCAG 2.1 A/AA, one h1${viewport.name === 'phone' ? ', no sideways scroll at 360 px' : ''}, screenshot`, async () => {
    assert.equal(await page.locator('h1').count(), 1, 'exactly one h1');
    if (viewport.name === 'phone') await checkNoHorizontalScroll(page);
    await checkA11y(page, name);
    await shot(name);
  });
}

/** Fills the login (or add-family) fields with a card: { no, month, day }. */
export async function fillCard(page, card, { day = card.day } = {}) {
  await page.getByLabel('製造管理番号').fill(card.no);
  await page.getByLabel('月', { exact: true }).fill(String(card.month));
  await page.getByLabel('日', { exact: true }).fill(String(day));
}

/** 「2026年6月3日（水）」: a Japanese date with its weekday. */
export const DATE_JA = /\d{4}年\d{1,2}月\d{1,2}日（[日月火水木金土]）/;

/** The text of the <dd> next to the <dt> with the given label in a .summary list. */
export async function summaryValue(page, label) {
  const dt = page.locator('dt').filter({ hasText: new RegExp(`^\\s*${label}\\s*$`) });
  const row = page.locator('dl.summary > div').filter({ has: dt });
  assert.equal(await row.count(), 1, `one summary row "${label}"`);
  return (await row.locator('dd').innerText()).trim();
}

/** HH:MM of a Unix time in Japan time. */
export function clockJST(unix) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit', hour12: false })
    .format(new Date(unix * 1000));
}
