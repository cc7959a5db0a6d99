// Self-test of lib.mjs, run by ui/uitest's TestHarness against a tiny app with the real CSP: each
// step provokes one problem and checks that the harness reports it. Data: { host }.
import { assert, checkA11y, checkNoHorizontalScroll, scenario, visit } from './lib.mjs';

// Waits for the page to report a problem matching re, then forgets the reported problems.
async function expectProblem(page, re) {
  for (let i = 0; i < 50 && !page.problems.some((p) => re.test(p)); i++) await page.waitForTimeout(20);
  const got = page.problems.splice(0);
  assert.ok(got.some((p) => re.test(p)), `no problem matching ${re}; got ${JSON.stringify(got)}`);
}

scenario('selftest', async ({ page, data, viewport, step }) => {
  await step('served at the chosen host name', async () => {
    await visit(page, '/');
    assert.equal(await page.locator('#host').innerText(), `${data.host}:${new URL(page.url()).port}`);
  });
  await step('a clean page passes axe and fits the screen', async () => {
    await checkA11y(page, 'clean page');
    await checkNoHorizontalScroll(page);
  });
  await step('an inline script blocked by the CSP is reported', async () => {
    await visit(page, '/inline-script');
    await expectProblem(page, /console error: .*Content Security Policy/);
  });
  await step('a missing stylesheet is reported', async () => {
    await visit(page, '/missing-css');
    await expectProblem(page, /sub-resource GET .*\/nope\.css answered 404/);
  });
  await step('an uncaught script error is reported', async () => {
    await visit(page, '/throws');
    await expectProblem(page, /uncaught script error: thrown by throw\.js/);
  });
  await step('an error page can be asserted by status', () => visit(page, '/no-such-page', { status: 404 }));
  await step('axe violations are listed', async () => {
    await visit(page, '/no-alt');
    await assert.rejects(checkA11y(page, 'no alt'), (err) => /\[critical\] image-alt: .*\n\s+at img/.test(err.message));
  });
  if (viewport.name === 'phone') {
    await step('sideways scrolling at 360 px is reported', async () => {
      await visit(page, '/wide');
      await assert.rejects(checkNoHorizontalScroll(page), /scrolls sideways/);
    });
    await step('a page without a viewport meta tag is reported', async () => {
      await visit(page, '/no-viewport');
      await assert.rejects(checkNoHorizontalScroll(page), /laid out 980 px wide on a 360 px screen/);
    });
  }
});
