// Browser end-to-end helpers. A scenario script (e.g. home.mjs) is started by a Go test through
// ui/uitest.RunScript, which serves the real app and passes its inputs in the environment:
//
//   E2E_BASE_URL  where the app under test answers, e.g. http://abc.localhost:41234
//   E2E_DATA      JSON fixtures chosen by the Go test (card numbers, names, …), exported as `data`
//
// Debian's Chromium (/usr/bin/chromium) is driven by playwright-core; `.ci/browser` installs both.
// One browser is launched per script; every scenario runs once per viewport (phone, desktop) in a
// fresh browser context. The script prints one line per passed step and exits non-zero at the
// first failure, after saving a screenshot of the failing page.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { assert };

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = join(here, 'screenshots');

/** The two viewports every scenario runs at. */
export const VIEWPORTS = [
  { name: 'phone', width: 360, height: 740, isMobile: true },
  { name: 'desktop', width: 1280, height: 800, isMobile: false },
];

/** WCAG 2.0/2.1 A and AA: the axe rules madoguchi must pass on every page. */
export const A11Y_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

function die(msg) {
  console.error(`FAIL ${msg}`);
  process.exit(1);
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (err) {
  die(`cannot load playwright-core (${err.message}); run .ci/browser to install the browser test packages`);
}
if (!existsSync(CHROMIUM)) {
  die(`${CHROMIUM} not found; run .ci/browser to install Chromium`);
}

/** Base URL of the app under test, without a trailing slash. */
export const baseURL = (process.env.E2E_BASE_URL || '').replace(/\/+$/, '');
/** Fixtures from the Go test (E2E_DATA), or null. */
export const data = process.env.E2E_DATA ? JSON.parse(process.env.E2E_DATA) : null;

// Flags that keep Chromium from phoning home: the network is closed, and without them it stalls on
// Google hosts. playwright-core gives every launch a fresh temporary user-data-dir and removes it
// when the browser closes.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Debian's Chromium headless. Close it with browser.close(). */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  return { browser };
}

/**
 * Opens a page in a new browser context (own cookies and storage) of the given size. Phone-sized
 * viewports (`isMobile`, default below 768 px) honour <meta name=viewport> and touch, like a
 * phone. The page records uncaught script errors, console errors (CSP violations among them) and
 * failed or 4xx/5xx sub-resources in page.problems; the scenario runner fails on any of them.
 */
export async function newPage(browser, { width, height, isMobile = width < 768 } = {}) {
  const context = await browser.newContext({
    viewport: { width, height },
    isMobile,
    hasTouch: isMobile,
    deviceScaleFactor: 1,
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.problems = problems;
  page.on('pageerror', (err) => problems.push(`uncaught script error: ${err.message}`));
  page.on('console', (msg) => {
    // A 4xx/5xx is reported below with its URL; the console line about it says nothing more.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText || 'failed';
    if (why !== 'net::ERR_ABORTED') problems.push(`request failed: ${req.method()} ${req.url()}: ${why}`);
  });
  page.on('response', (resp) => {
    // The document itself may be an error page on purpose (a scenario asserts its status);
    // a broken stylesheet, script or image never is.
    if (resp.status() >= 400 && !resp.request().isNavigationRequest()) {
      problems.push(`sub-resource ${resp.request().method()} ${resp.url()} answered ${resp.status()}`);
    }
  });
  return page;
}

/**
 * Throws if the page has reported problems (see newPage) and forgets them. The runner calls it
 * after every step; a scenario that provokes an error on purpose reads and clears page.problems
 * inside its step.
 */
export function throwProblems(page) {
  if (!page.problems?.length) return;
  const err = new Error(`the page reported problems:\n  ${page.problems.join('\n  ')}`);
  err.problems = page.problems.splice(0);
  throw err;
}

let axeSource;

/**
 * Runs axe-core with the WCAG 2.0/2.1 A+AA rules on the current page and throws an error listing
 * every violation (rule id, impact, help, the offending nodes). axe is evaluated through the
 * DevTools protocol, so the page's Content-Security-Policy stays in force.
 */
export async function checkA11y(page, label = page.url(), { tags = A11Y_TAGS, exclude = [], disable = [] } = {}) {
  // tags: axe rule tags (default A11Y_TAGS); exclude: CSS selectors of parts not to check;
  // disable: ids of rules not to run, each with a reason at the call.
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate(
    ({ tags, exclude, disable }) =>
      window.axe.run(
        exclude.length ? { exclude: exclude.map((s) => [s]) } : document,
        {
          runOnly: { type: 'tag', values: tags },
          resultTypes: ['violations'],
          rules: Object.fromEntries(disable.map((id) => [id, { enabled: false }])),
        },
      ),
    { tags, exclude, disable },
  );
  const v = result.violations;
  if (v.length === 0) return;
  const lines = [`${label}: ${v.length} accessibility violation(s) (axe-core ${result.testEngine.version})`];
  for (const r of v) {
    lines.push(`  [${r.impact}] ${r.id}: ${r.help} (${r.helpUrl.replace(/\?.*$/, '')})`);
    for (const n of r.nodes.slice(0, 10)) {
      lines.push(`      at ${n.target.join(' ')}: ${n.html.slice(0, 160)}`);
      const why = (n.failureSummary || '').split('\n').map((s) => s.trim()).filter(Boolean);
      for (const w of why.slice(0, 4)) lines.push(`         ${w}`);
    }
    if (r.nodes.length > 10) lines.push(`      … and ${r.nodes.length - 10} more`);
  }
  throw new Error(lines.join('\n'));
}

/** Saves a full-page screenshot to ui/e2e/screenshots/<name>.png and returns its path. */
export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Where every desktop screenshot is also saved as a manual illustration (see helpImage). */
export const HELP_IMAGES = join(SCREENSHOTS, 'help');

/**
 * Saves what a 1280×800 screen shows (not the whole page) as ui/e2e/screenshots/help/<name>.png,
 * without a leading "help-". The in-app manuals show these pictures: `make help-images` runs the
 * browser tests and copies the ones the manuals name into ui/web/static/help/, so the illustrations
 * always come from a real test run of the current screens.
 */
export async function helpImage(page, name) {
  mkdirSync(HELP_IMAGES, { recursive: true });
  const path = join(HELP_IMAGES, `${name.replace(/^help-/, '').replace(/[^\w.-]+/g, '_')}.png`);
  // The top of the page, as a clerk first sees it; the test's own scroll position is restored.
  const y = await page.evaluate(() => { const y = window.scrollY; window.scrollTo(0, 0); return y; });
  await page.screenshot({ path, fullPage: false });
  await page.evaluate((y) => window.scrollTo(0, y), y);
  return path;
}

/** Logs a staff member of the city at baseURL in (/admin/login, password only); ends on the dashboard. */
export async function staffLogin(page, login, password) {
  await visit(page, '/admin/login');
  await page.getByLabel('ログインID').fill(login);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.waitForURL(/\/admin$/);
}

/**
 * Prints the current page to an A4 PDF at path as Chromium's print dialog would (print media,
 * backgrounds, the page's own @page size and margins), after loading every lazy image, and
 * returns the path. `make manuals` prints the manuals with it; the guide's browser test too, so
 * the manuals' path is exercised by `make test`.
 */
export async function savePDF(page, path) {
  mkdirSync(dirname(path), { recursive: true });
  await page.evaluate(async () => {
    const imgs = [...document.images];
    for (const img of imgs) img.loading = 'eager';
    await Promise.all(imgs.map((img) => (img.complete ? null : new Promise((done) => { img.onload = img.onerror = done; }))));
  });
  await page.pdf({ path, format: 'A4', printBackground: true, preferCSSPageSize: true });
  return path;
}

/**
 * Throws unless the page fits its viewport width (WCAG 1.4.10 reflow: no sideways scrolling). On a
 * phone it also throws when the page is laid out wider than the screen, as happens without
 * <meta name="viewport" content="width=device-width">.
 */
export async function checkNoHorizontalScroll(page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  const screen = page.viewportSize()?.width;
  if (screen && client > screen) {
    throw new Error(`page is laid out ${client} px wide on a ${screen} px screen (is <meta name="viewport"> missing?)`);
  }
  if (scroll > client) {
    throw new Error(`page scrolls sideways: scrollWidth ${scroll} px > clientWidth ${client} px`);
  }
}

/**
 * Navigates to path (relative to baseURL), asserts the HTTP status (200 unless told) and returns
 * the response.
 */
export async function visit(page, path = '/', { status = 200 } = {}) {
  const resp = await page.goto(new URL(path, baseURL + '/').href, { waitUntil: 'load' });
  assert.ok(resp, `no response for ${path}`);
  assert.equal(resp.status(), status, `GET ${path}: HTTP ${resp.status()}, want ${status}`);
  return resp;
}

// ---- the runner ----

const scenarios = [];
let started = false;

/**
 * Registers a scenario; it runs once for each of VIEWPORTS after the script has loaded. fn gets
 * { page, baseURL, data, viewport, step, shot }:
 *   step(label, async () => …)  runs one checked step and prints "ok" with its label
 *   shot(name)                  screenshot named "<name>-<viewport>"
 */
export function scenario(name, fn) {
  scenarios.push({ name, fn });
}

// Runs the scenarios once the script's module (including any top-level await) has finished.
process.on('beforeExit', () => {
  if (started) return;
  started = true;
  run().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`FAIL harness: ${err?.stack || err}`);
      process.exit(1);
    },
  );
});

function ms(t0) {
  return `${Math.round(performance.now() - t0)} ms`;
}

async function run() {
  if (!baseURL) {
    console.error('FAIL E2E_BASE_URL is not set; run this script through a Go test (ui/uitest.RunScript)');
    return 1;
  }
  if (scenarios.length === 0) {
    console.error('FAIL the script registered no scenario');
    return 1;
  }
  const t0 = performance.now();
  const { browser } = await launch();
  console.log(`ok   launched Chromium ${browser.version()} (${ms(t0)})`);
  let passed = 0;
  try {
    for (const sc of scenarios) {
      for (const vp of VIEWPORTS) {
        const title = `${sc.name} [${vp.name} ${vp.width}x${vp.height}]`;
        const t1 = performance.now();
        const page = await newPage(browser, vp);
        let current = '(before the first step)';
        const step = async (label, f) => {
          current = label;
          const t2 = performance.now();
          const r = await f();
          throwProblems(page);
          console.log(`ok     ${label} (${ms(t2)})`);
          current = `(after "${label}")`;
          return r;
        };
        const ctxShot = async (name) => {
          const path = await shot(page, `${name}-${vp.name}`);
          if (vp.name === 'desktop') await helpImage(page, name);
          return path;
        };
        try {
          await sc.fn({ page, baseURL, data, viewport: vp, step, shot: ctxShot });
          throwProblems(page);
        } catch (err) {
          let where = '';
          try {
            where = `\n  page: ${page.url()}\n  screenshot: ${await shot(page, `FAIL-${sc.name}-${vp.name}`)}`;
          } catch {
            // the page may be gone; the error below says why
          }
          const msg = err?.problems ? err.message : err?.stack || err;
          console.error(`FAIL ${title}: step ${current}\n${msg}${where}`);
          return 1;
        } finally {
          await page.context().close().catch(() => {});
        }
        passed++;
        console.log(`ok   ${title} (${ms(t1)})`);
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  console.log(`ok   all ${passed} scenario runs (${ms(t0)})`);
  return 0;
}
