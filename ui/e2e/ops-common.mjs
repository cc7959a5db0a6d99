// Steps shared by the scripts that drive the vendor's ops console.
import { visit } from './lib.mjs';
import { go } from './citizen-common.mjs';
import { totp } from './totp.mjs';

/**
 * A member's first login: the issued password, a new one, the authenticator app (the script plays
 * the phone); it ends on the console's top page. acc: { login, password }.
 */
export async function opsFirstLogin(page, acc, newPassword) {
  await visit(page, '/login');
  await page.getByLabel('ログインID').fill(acc.login);
  await page.getByLabel('パスワード', { exact: true }).fill(acc.password);
  await go(page, page.getByRole('button', { name: '次へ' }), { path: '/password' });
  await page.getByLabel('渡された初期パスワード').fill(acc.password);
  await page.getByLabel('新しいパスワード', { exact: true }).fill(newPassword);
  await page.getByLabel('新しいパスワード（確認）').fill(newPassword);
  await go(page, page.getByRole('button', { name: 'パスワードを変更する' }), { path: '/mfa' });
  const key = (await page.locator('#mfa-secret').innerText()).replace(/\s/g, '');
  await page.getByLabel('確認コード（6桁の数字）').fill(totp(key));
  await go(page, page.getByRole('button', { name: '設定してログインする' }), { path: '/' });
}
