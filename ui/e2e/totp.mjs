// The scenarios' "phone": RFC 6238 codes of an authenticator app, computed with node:crypto from
// the setup key a page shows (staff-mfa.mjs, ops.mjs).
import { createHmac } from 'node:crypto';
import { assert } from './lib.mjs';

/** The six-digit TOTP code (SHA-1, 30-second steps) of a base32 key at time ms. */
export function totp(key, ms = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const ch of key.replace(/[\s=]/g, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    assert.ok(i >= 0, `not base32: ${ch}`);
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
