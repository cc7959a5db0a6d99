// The city's top page: the first thing a citizen sees after typing the address from the 交付通知書.
// Data from ui/e2e_home_test.go: { cityName, locationName }.
import { assert, checkA11y, checkNoHorizontalScroll, scenario, visit } from './lib.mjs';

scenario('home', async ({ page, data, viewport, step, shot }) => {
  await step('open the city top page', () => visit(page, '/'));
  await step('h1 names マイナンバーカード', async () => {
    const h1 = page.locator('h1');
    assert.equal(await h1.count(), 1, 'exactly one h1');
    assert.match(await h1.innerText(), /マイナンバーカード/);
  });
  await step('header and title name the city', async () => {
    const header = await page.locator('header').innerText();
    assert.ok(header.includes(data.cityName), `header ${JSON.stringify(header)} lacks ${data.cityName}`);
    const title = await page.title();
    assert.ok(title.includes(data.cityName), `title ${JSON.stringify(title)} lacks ${data.cityName}`);
  });
  await step('location names are shown as text, not markup', async () => {
    await page.getByText(data.locationName, { exact: true }).waitFor();
  });
  if (viewport.name === 'phone') {
    await step('no sideways scrolling at 360 px', () => checkNoHorizontalScroll(page));
  }
  await step('axe: no WCAG 2.1 A/AA violations', () => checkA11y(page, 'city top page'));
  await step('screenshot', () => shot('home'));
  await step('skip link moves to the main content', async () => {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '#main');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  });
});
