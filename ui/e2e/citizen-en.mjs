// English: the header's language link switches the login page to English (lang="en", English
// headings and labels) and back to Japanese, staying on the same page.
//
// Data from ui/e2e_citizen_test.go (TestE2ECitizenEnglish): { cityName }.
import { assert, checkA11y, scenario, visit } from './lib.mjs';
import { checkPage, go, h1 } from './citizen-common.mjs';

scenario('citizen login in English', async ({ page, data, viewport, step, shot }) => {
  await step('open the login page in Japanese', async () => {
    await visit(page, '/login');
    assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
    await checkA11y(page, 'login in Japanese');
  });
  await step('the header link "English" is marked as English', async () => {
    const link = page.locator('header').getByRole('link', { name: 'English' });
    assert.equal(await link.getAttribute('lang'), 'en');
    assert.equal(await link.getAttribute('hreflang'), 'en');
  });
  await step('switch to English: the same page, lang="en", English text', async () => {
    await go(page, page.locator('header').getByRole('link', { name: 'English' }), { path: '/login' });
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await h1(page, 'Enter the number on your notice and your birthday');
    assert.match(await page.title(), /^Enter the number on your notice and your birthday \| .+ \| My Number Card pickup booking$/);
    assert.ok((await page.title()).includes(data.cityName), 'the title names the city');
    await page.getByLabel('Production control number').waitFor();
    await page.getByLabel('Month', { exact: true }).waitFor();
    await page.getByLabel('Day', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).waitFor();
    assert.equal(await page.locator('a.skip').innerText(), 'Skip to main content');
  });
  await checkPage(page, step, (name) => shot(`citizen-en-${name}`), viewport, 'login');
  await step('the language stays English on the next page', async () => {
    await go(page, page.getByRole('link', { name: 'Back' }), { path: '/' });
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  });
  await checkPage(page, step, (name) => shot(`citizen-en-${name}`), viewport, 'home');
  await step('switch back: 日本語, lang="ja"; axe', async () => {
    const link = page.locator('header').getByRole('link', { name: '日本語' });
    assert.equal(await link.getAttribute('lang'), 'ja');
    await go(page, link, { path: '/' });
    assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
    await h1(page, 'マイナンバーカードの受け取り予約');
    await checkA11y(page, 'top page in Japanese');
  });
});
