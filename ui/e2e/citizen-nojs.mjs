// The citizen flow with JavaScript switched off (UX rule 1: every flow works without it): login →
// place → calendar (month links are plain page loads) → day → time (a missing choice is caught by
// the server) → confirm → book → done. It runs in its own browser context created with
// javaScriptEnabled: false, at phone size (360×740); every page passes axe and is saved as a
// screenshot.
//
// Data from ui/e2e_citizen_test.go (TestE2ECitizenNoJS):
//   { cards: { phone: [card] } with each card { no, month, day }, location, email }
import { assert, checkA11y, checkNoHorizontalScroll, scenario, shot as saveShot, throwProblems, visit } from './lib.mjs';
import { DATE_JA, fillCard, go, h1 } from './citizen-common.mjs';

/** A page in a new context without JavaScript, recording problems like lib.mjs newPage does. */
async function newPageWithoutJS(browser, { width, height, isMobile }) {
  const context = await browser.newContext({
    viewport: { width, height },
    isMobile,
    hasTouch: isMobile,
    deviceScaleFactor: 1,
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
    javaScriptEnabled: false,
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) page.problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText || 'failed';
    if (why !== 'net::ERR_ABORTED') page.problems.push(`request failed: ${req.method()} ${req.url()}: ${why}`);
  });
  page.on('response', (resp) => {
    if (resp.status() >= 400 && !resp.request().isNavigationRequest()) {
      page.problems.push(`sub-resource ${resp.request().method()} ${resp.url()} answered ${resp.status()}`);
    }
    if (resp.request().headers()['x-partial']) page.problems.push(`a script fetched ${resp.url()} although JavaScript is off`);
  });
  return page;
}

scenario('citizen flow without JavaScript', async ({ page: runnerPage, data, viewport, step: runnerStep }) => {
  if (viewport.name !== 'phone') {
    // Without JavaScript the pages are the same at every size; citizen.mjs covers the desktop.
    await runnerStep('without JavaScript the flow is checked at phone size only', () => {});
    return;
  }
  const [card] = data.cards.phone;
  const page = await newPageWithoutJS(runnerPage.context().browser(), viewport);
  // Steps check this page's problems too (the runner only watches its own page).
  const step = (label, f) => runnerStep(label, async () => {
    const r = await f();
    throwProblems(page);
    return r;
  });
  // axe runs on timers, which never fire in a page without scripts; so each page's HTML, as the
  // no-JS browser holds it, is replayed at the same address in the runner's page (with app.js
  // answered empty, so nothing changes the DOM) and checked there, with the real stylesheet.
  await runnerPage.route(/\/static\/[^/]+\/app\.js$/, (r) => r.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
  const axeOnCopy = async (name) => {
    const url = page.url();
    const html = await page.content();
    const same = (u) => u.href === url;
    await runnerPage.route(same, (r) => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    try {
      await visit(runnerPage, url);
      assert.equal(await runnerPage.locator('h1').innerText(), await page.locator('h1').innerText());
      await checkA11y(runnerPage, `${name} (no JavaScript)`);
    } finally {
      await runnerPage.unroute(same);
    }
  };
  let n = 0;
  const check = (name) => step(`${name}: axe WCAG 2.1 A/AA${viewport.name === 'phone' ? ', no sideways scroll at 360 px' : ''}, screenshot`, async () => {
    assert.equal(await page.locator('h1').count(), 1, 'exactly one h1');
    if (viewport.name === 'phone') await checkNoHorizontalScroll(page);
    await axeOnCopy(name);
    await saveShot(page, `citizen-nojs-${String(++n).padStart(2, '0')}-${name}-${viewport.name}`);
  });

  try {
    await step('open the login page', async () => {
      await visit(page, '/login');
      await h1(page, '交付通知書の番号と誕生日を入力してください');
    });
    await check('login');
    await step('log in: the form posts and redirects to the menu', async () => {
      await fillCard(page, card);
      await go(page, page.getByRole('button', { name: '次へ進む' }), { path: '/menu' });
      await h1(page, '予約の手続き');
    });
    await check('menu');
    await step('the places', async () => {
      await go(page, page.getByRole('link', { name: '受け取る場所と日時を選ぶ' }), { path: '/locations' });
    });
    await check('locations');
    await step('the calendar', async () => {
      await go(page, page.getByRole('link', { name: data.location }), { path: '/calendar' });
      await h1(page, '受け取りに来る日を選んでください');
    });
    await check('calendar');
    await step('次の月 and 前の月 load whole pages (axe on each)', async () => {
      const before = (await page.locator('caption').innerText()).trim();
      const resp = await go(page, page.getByRole('link', { name: /^次の月/ }), { path: '/calendar' });
      assert.ok(resp.request().isNavigationRequest(), 'a page load, not a script fetch');
      assert.match(page.url(), /[?&]month=\d{4}-\d{2}/);
      assert.notEqual((await page.locator('caption').innerText()).trim(), before);
      await axeOnCopy('calendar, next month');
      await go(page, page.getByRole('link', { name: /^前の月/ }), { path: '/calendar' });
      await axeOnCopy('calendar, back');
      if ((await page.locator('a.day').count()) === 0) {
        await go(page, page.getByRole('link', { name: /^次の月/ }), { path: '/calendar' });
      }
    });
    await step('choose a day', async () => {
      await go(page, page.locator('a.day').first(), { path: '/times' });
      await h1(page, new RegExp(`^${DATE_JA.source}の時間を選んでください$`));
    });
    await check('times');
    await step('continue without choosing a time: the server redirects back with an error (422)', async () => {
      await go(page, page.getByRole('button', { name: 'この時間で予約に進む' }), { path: '/times', status: 422 });
      assert.match(await page.title(), /^エラー：/);
      assert.match(await page.locator('#error-summary').innerText(), /受け取りの時間を選んでください/);
    });
    await check('times-error');
    await step('choose a time: held, the confirm page', async () => {
      await page.getByRole('radio').first().check();
      await go(page, page.getByRole('button', { name: 'この時間で予約に進む' }), { path: '/confirm' });
      await h1(page, '予約内容を確認してください');
      assert.match(await page.locator('[data-hold-expires]').innerText(), /\d{2}:\d{2} まで確保しています/);
    });
    await check('confirm');
    await step('keep the time longer: the same page comes back with the e-mail typed so far', async () => {
      await page.locator('#f-email').fill(data.email);
      await go(page, page.getByRole('button', { name: /時間を延長する/ }), { path: '/confirm' });
      await h1(page, '予約内容を確認してください');
      assert.match(await page.locator('[data-hold-expires]').innerText(), /\d{2}:\d{2} まで確保しています/);
      assert.equal(await page.locator('#f-email').inputValue(), data.email);
    });
    await step('type the e-mail twice and book: the done page', async () => {
      await page.locator('#f-email').fill(data.email);
      await page.locator('#f-email2').fill(data.email);
      await go(page, page.getByRole('button', { name: 'この内容で予約する' }), { path: '/done' });
      await h1(page, '予約が完了しました');
      assert.match((await page.locator('.code').innerText()).trim(), /^[0-9A-Z]{4} [0-9A-Z]{4}$/);
      assert.match(await page.locator('img.qr').getAttribute('alt'), /^予約番号 [0-9A-Z]{8} のQRコード$/);
    });
    await check('done');
  } catch (err) {
    // The runner photographs its own (blank) page; this one shows where the flow stopped.
    await saveShot(page, `FAIL-citizen-nojs-${viewport.name}`).catch(() => {});
    throw new Error(`${err?.message || err}\n  no-JS page: ${page.url()}`, { cause: err });
  } finally {
    await page.context().close().catch(() => {});
  }
});
