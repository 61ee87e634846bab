// Malformed, oversized, wrongly typed and hostile values for the sweep tests.
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** Values to put in place of any one field of a valid body. */
export const HOSTILE_VALUES: Array<[string, unknown]> = [
  ['null', null],
  ['true', true],
  ['a negative number', -1],
  ['a float', 1.5],
  ['a huge number', 1e308],
  ['a huge integer', 9007199254740993],
  ['an empty string', ''],
  ['an array', ['a', 'b']],
  ['an object', { a: 1 }],
  ['a 100 kB string', 'x'.repeat(100_000)],
  ['a NUL byte', 'a\u0000b'],
  ['CRLF header injection', 'ok\r\nBcc: victim@example.com'],
  ['a bare LF', 'ok\nSet-Cookie: x=1'],
  ['SQL injection', "' OR 1=1--"],
  ['SQL statement', "x'); DROP TABLE hits;--"],
  ['a spreadsheet formula', "=cmd|' /C calc'!A0"],
  ['a HYPERLINK formula', '=HYPERLINK("http://evil.example","click")'],
  ['a lone surrogate', 'a\uD800b'],
  ['right-to-left override', 'abc\u202Egpj.exe'],
  ['zalgo', 'Z̸̢̧̛̛̛̗̘̙̜̝̞̟̠̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼͇͈͉͍͎̀́̂̃̄̅̆̇̈̉̊̋̌̍̎̏̐̑̒̓̔̽̾̿̀́͂̓̈́͆͊͋͌̕̚ͅ'],
  ['emoji', '🎟️🎫'.repeat(10)],
  ['a javascript: URL', 'javascript:alert(1)'],
  ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
  ['an HTML payload', '<script>alert(1)</script>'],
  ['a path traversal', '../../../../etc/passwd'],
  ['an ISO date far in the future', '9999-12-31T23:59:59Z'],
  ['a huge epoch', 8.64e15 + 1],
  ['a numeric string with exponent', '1e400'],
  ['a number-looking string', '0x1F'],
];

/** Raw bodies that are not valid JSON or are hostile as a whole. */
export const HOSTILE_BODIES: Array<[string, string]> = [
  ['broken JSON', '{"site":'],
  ['trailing garbage', '{"a":1}}'],
  ['a bare string', '"hello"'],
  ['a number', '42'],
  ['null', 'null'],
  ['an array', '[1,2,3]'],
  ['deeply nested arrays', deep(20_000)],
  ['deeply nested objects', deepObject(5_000)],
  ['__proto__ pollution', '{"__proto__":{"admin":true},"x":1}'],
  ['nested __proto__ pollution', '{"a":{"__proto__":{"admin":true}}}'],
  ['constructor.prototype pollution', '{"constructor":{"prototype":{"admin":true}}}'],
  ['a NUL byte', '\u0000'],
  ['invalid UTF-8 sequences', '{"a":"\udcff\udcfe"}'],
  ['a UTF-8 BOM', '\uFEFF{"a":1}'],
  ['an empty body', ''],
];

/** Content types a JSON route must refuse (or survive). */
export const WRONG_TYPES = [
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/html',
  'application/octet-stream',
  'image/gif',
];

export const isGifRoute = (url: string) => url.startsWith('/p.gif') || url.startsWith('/collect.gif');

/** What every answer to bad input must look like: never 5xx; a 4xx says what is wrong. */
export function expectGraceful(res: LightMyRequestResponse, url: string, what: string): void {
  expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode < 400) return;
  if (isGifRoute(url)) {
    expect(res.headers['content-type'], what).toBe('image/gif');
    expect(String(res.headers['x-linktrail-error'] ?? ''), what).not.toBe('');
    return;
  }
  const body = res.json() as { error?: unknown; message?: unknown };
  expect(typeof body.error, `${what}: ${res.body}`).toBe('string');
  expect(typeof body.message, `${what}: ${res.body}`).toBe('string');
  expect(String(body.message).length, what).toBeGreaterThan(3);
}
