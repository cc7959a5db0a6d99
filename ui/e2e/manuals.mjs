// `make manuals`: prints the in-app manuals to A4 PDF files with Chromium (lib.mjs savePDF, the
// code path the guide's browser test also runs). Not a scenario: it logs in once per console and
// prints each page; it exits non-zero at the first failure.
// data: { out: directory, city: { url, login, password }, ops: { url, login, password, secret },
//         callcenter: { url, login, password, secret } }
import { join } from 'node:path';
import { assert, data, launch, newPage, savePDF, staffLogin } from './lib.mjs';
import { totp } from './totp.mjs';

async function open(page, url) {
  const resp = await page.goto(url, { waitUntil: 'load' });
  assert.equal(resp?.status(), 200, `GET ${url}: HTTP ${resp?.status()}`);
}

// cityLogin logs in to the demo city's /admin (E2E_BASE_URL is the city's address).
const cityLogin = (page, c) => staffLogin(page, c.login, c.password);

// vendorLogin logs in to the ops console or the call center: the password, then a code of the
// account's authenticator (the next step's: the enrolment spent the current one).
async function vendorLogin(page, c) {
  await open(page, `${c.url}/login`);
  await page.getByLabel('ログインID').fill(c.login);
  await page.getByLabel('パスワード', { exact: true }).fill(c.password);
  await page.getByRole('button', { name: '次へ' }).click();
  await page.waitForURL(/\/login\/code$/);
  await page.getByLabel('確認コード（6桁の数字）').fill(totp(c.secret, Date.now() + 30_000));
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.waitForURL((u) => u.pathname === '/');
}

const jobs = [
  { login: cityLogin, account: data.city, pages: [
    ['/admin/help', 'staff-manual.pdf'],
    ['/admin/help/operations', 'operations-manual.pdf'],
    ['/admin/help/guide', 'citizen-guide.pdf'],
  ] },
  { login: vendorLogin, account: data.callcenter, pages: [['/help', 'callcenter-operator-manual.pdf']] },
  { login: vendorLogin, account: data.ops, pages: [['/help', 'ops-console-help.pdf']] },
];

const { browser } = await launch();
let code = 0;
try {
  for (const job of jobs) {
    const page = await newPage(browser, { width: 1280, height: 800 });
    await job.login(page, job.account);
    for (const [path, file] of job.pages) {
      await open(page, job.account.url + path);
      console.log(`ok   ${await savePDF(page, join(data.out, file))}`);
    }
    assert.deepEqual(page.problems, [], `${job.account.url}: the pages reported problems`);
    await page.context().close();
  }
} catch (err) {
  console.error(`FAIL ${err?.stack || err}`);
  code = 1;
} finally {
  await browser.close().catch(() => {});
}
process.exit(code);
