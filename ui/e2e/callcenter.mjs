// The shared call center (callcenter.{BASE}): an operator logs in (password, then the code of the
// authenticator app the script plays, totp.mjs), finds the caller's city by its kana, sees the
// city's banner on every page, checks the caller (a wrong birthday first: the same answer as an
// unknown card), reads the caller's card, picks a time on the board, books with a note and reads
// the booking back; then the manual. Every page passes axe (WCAG 2.1 A/AA) and fits 360 px.
//
// Data from ui/callcenter_e2e_test.go (TestE2ECallCenter):
//   { accounts: { phone|desktop: { login, password, secret } },
//     city: { slug, name, kana }, cards: { phone|desktop: { no, birth } }, slots: { phone|desktop: id } }
import { assert, data, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';
import { totp } from './totp.mjs';

scenario('call center', async ({ page, viewport, step, shot: rawShot }) => {
  const shot = (name) => rawShot(`callcenter-${name}`);
  const check = (name) => checkPage(page, step, shot, viewport, name);
  const acc = data.accounts[viewport.name];
  const card = data.cards[viewport.name];
  const slot = data.slots[viewport.name];
  const city = data.city;
  const banner = () => page.locator('#city-banner');

  await step('log in: the password, then the code', async () => {
    await visit(page, '/login');
    await h1(page, 'コールセンター ログイン');
    await page.getByLabel('ログインID').fill(acc.login);
    await page.getByLabel('パスワード', { exact: true }).fill(acc.password);
    await go(page, page.getByRole('button', { name: '次へ' }), { path: '/login/code' });
    await page.getByLabel('確認コード（6桁の数字）').fill(totp(acc.secret, Date.now() + 30_000));
    await go(page, page.getByRole('button', { name: 'ログイン' }), { path: '/' });
    await h1(page, '市区町村の選択');
    assert.equal(await banner().count(), 0, 'no city banner before a city is chosen');
  });
  await check('cities');
  await step('find the city by its kana (hiragana), open it: the banner names it', async () => {
    await page.getByLabel('市区町村名・ふりがなで探す').fill(city.kana);
    await go(page, page.getByRole('button', { name: '探す' }), { path: '/' });
    await go(page, page.getByRole('link', { name: new RegExp(city.name) }), { path: `/c/${city.slug}` });
    await h1(page, 'お電話の方の確認');
    assert.match(await banner().innerText(), new RegExp(city.name));
    assert.equal(await banner().getByRole('link', { name: '市区町村を切り替える' }).count(), 1);
    if (viewport.name === 'phone') {
      const box = await banner().boundingBox();
      assert.ok(box && box.width <= 360, `the banner fits the phone: ${box?.width}`);
    }
  });
  await check('city');
  await step('a wrong birthday: the same answer as an unknown card, nothing of the card', async () => {
    await page.getByLabel('製造管理番号').fill(card.no);
    await page.getByLabel('誕生日（月日）').fill('0101');
    await go(page, page.getByRole('button', { name: '確認する' }), { path: `/c/${city.slug}/verify`, status: 401 });
    assert.match(await page.getByRole('alert').innerText(), /製造管理番号と誕生日が一致しません/);
    assert.match(await page.title(), /^エラー：/);
  });
  await check('verify-error');
  await step('the right birthday: the caller\'s card, no booking yet', async () => {
    await page.getByLabel('製造管理番号').fill(card.no);
    await page.getByLabel('誕生日（月日）').fill(card.birth);
    await go(page, page.getByRole('button', { name: '確認する' }), { path: `/c/${city.slug}/caller` });
    await h1(page, 'お電話の方のカードと予約');
    assert.match(await page.locator('main').innerText(), /予約はありません/);
    assert.match(await banner().innerText(), new RegExp(city.name), 'the banner stays');
  });
  await check('caller');
  await step('the board: every place, the times with the places left', async () => {
    await go(page, page.getByRole('link', { name: /空き状況から予約する/ }), { path: `/c/${city.slug}/board` });
    await h1(page, '空き状況');
    assert.equal(await page.locator('#board[data-live]').count(), 1, 'the board follows the feed');
  });
  await check('board');
  await step('pick a time: the confirmation, no reason asked for a time citizens may still book', async () => {
    await go(page, page.locator(`a[data-slot="${slot}"]`), { path: `/c/${city.slug}/book` });
    await h1(page, '予約の確認');
    assert.equal(await page.locator('#f-reason').count(), 0);
  });
  await check('book');
  await step('book with a note: the read-back script', async () => {
    await page.getByLabel(/通話のメモ/).fill('折り返し不要');
    await go(page, page.getByRole('button', { name: '予約する', exact: true }));
    assert.match(new URL(page.url()).pathname, new RegExp(`^/c/${city.slug}/done/`));
    await h1(page, '予約を受け付けました');
    const script = await page.locator('.cc-readback').innerText();
    assert.match(script, /\d{1,2}月\d{1,2}日（[日月火水木金土]曜日）/, "the date with its weekday");
    assert.match(script, new RegExp(city.name));
    assert.match(await page.locator('#booking-code').innerText(), /^\w{4} \w{4}$/);
  });
  await check('done');
  await step('the operator manual', async () => {
    await visit(page, '/help');
    await h1(page, 'オペレーター向けマニュアル');
  });
  await check('help');
});
