// The proof-of-work step-up, with the city under attack (every login needs a proof): with
// JavaScript the app's own script solves the login form's challenge in the background and the
// first press of 次へ進む logs in; without JavaScript (phone size) a press within 5 seconds of the
// form being shown is answered 429 with a plain request to wait and press again, which then logs
// in. Every page passes axe (the no-JS pages on a copy in the runner's page, as citizen-nojs.mjs
// does) and is saved as a screenshot.
//
// Data from ui/e2e_citizen_pow_test.go (TestE2ECitizenProofOfWork):
//   { cards: { phone: [js, nojs], desktop: [js] } with each card { no, month, day } }
import { assert, checkA11y, scenario, shot as saveShot, throwProblems, visit } from './lib.mjs';
import { checkPage, fillCard, go, h1 } from './citizen-common.mjs';

scenario('login proof of work', async ({ page, data, viewport, step, shot }) => {
  const [js, nojs] = data.cards[viewport.name];

  await step('with JavaScript: the login form carries a challenge and the script solves it', async () => {
    await visit(page, '/login');
    await h1(page, '交付通知書の番号と誕生日を入力してください');
    assert.ok((await page.locator('input[name="pow_token"]').inputValue()).startsWith('p1.'), 'a challenge on the form');
    await page.waitForFunction(() => document.querySelector('input[name="pow_nonce"]').value !== '', null, { timeout: 30_000 });
  });
  await checkPage(page, step, shot, viewport, 'citizen-pow-login');
  await step('the first press logs in', async () => {
    await fillCard(page, js);
    await go(page, page.getByRole('button', { name: '次へ進む' }), { path: '/menu' });
    await h1(page, '予約の手続き');
  });
  if (!nojs) return;

  const context = await page.context().browser().newContext({
    viewport: { width: viewport.width, height: viewport.height }, isMobile: viewport.isMobile, hasTouch: viewport.isMobile,
    deviceScaleFactor: 1, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', javaScriptEnabled: false,
  });
  context.setDefaultTimeout(10_000);
  const plain = await context.newPage();
  plain.problems = [];
  // axe needs scripts: the no-JS page's HTML is replayed in the runner's page with app.js empty.
  await page.route(/\/static\/[^/]+\/app\.js$/, (r) => r.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
  const axeOnCopy = async (name) => {
    const url = plain.url();
    const html = await plain.content();
    const same = (u) => u.href === url;
    await page.route(same, (r) => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    try {
      await visit(page, url);
      await checkA11y(page, `${name} (no JavaScript)`);
    } finally {
      await page.unroute(same);
    }
    await saveShot(plain, `${name}-${viewport.name}`);
  };
  try {
    await step('without JavaScript: a press at once is answered 429 with a request to wait', async () => {
      await visit(plain, '/login');
      await fillCard(plain, nojs);
      await go(plain, plain.getByRole('button', { name: '次へ進む' }), { path: '/login', status: 429 });
      assert.match(await plain.locator('#error-summary').innerText(), /5秒ほどお待ちいただいてから、もう一度ボタンを押してください/);
      assert.equal(await plain.getByLabel('製造管理番号').inputValue(), nojs.no, 'the card number is kept');
      throwProblems(plain);
    });
    await step('the step-up page: axe, screenshot', () => axeOnCopy('citizen-pow-nojs-wait'));
    await step('after 5 seconds the same form logs in', async () => {
      await plain.waitForTimeout(5_500);
      await go(plain, plain.getByRole('button', { name: '次へ進む' }), { path: '/menu' });
      await h1(plain, '予約の手続き');
    });
  } finally {
    await context.close().catch(() => {});
  }
});
