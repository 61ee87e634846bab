import { describe, expect, it, vi } from 'vitest';
import { isAutomated } from '../src/bots.js';

// isbot itself, counted: a verdict from the memo makes no call.
const calls = vi.hoisted(() => ({ n: 0 }));
vi.mock('isbot', async (importOriginal) => {
  const real = await importOriginal<typeof import('isbot')>();
  return { ...real, isbot: (ua: string) => (calls.n++, real.isbot(ua)) };
});

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const counted = (ua: string | null) => {
  const before = calls.n;
  const bot = isAutomated(ua);
  return { bot, asked: calls.n - before };
};

describe('isAutomated keeps the verdicts of recent User-Agents', () => {
  it('asks isbot once per string, and answers the same from the memo', () => {
    expect([counted(CHROME), counted(GOOGLEBOT)]).toEqual([{ bot: false, asked: 1 }, { bot: true, asked: 1 }]);
    expect([counted(CHROME), counted(GOOGLEBOT)]).toEqual([{ bot: false, asked: 0 }, { bot: true, asked: 0 }]);
    expect([counted(''), counted(null)]).toEqual([{ bot: true, asked: 0 }, { bot: true, asked: 0 }]);
  });

  it('keeps a string seen again, and drops one after 1,024 new strings, so a flood keeps it bounded', () => {
    const ua = (i: number) => `${CHROME} build/${i}`;
    expect(counted(ua(0))).toEqual({ bot: false, asked: 1 });
    // Seen again every 300 new strings: it stays, however many go by.
    for (let round = 1; round <= 10; round++) {
      for (let i = 0; i < 300; i++) counted(ua(round * 1000 + i));
      expect(counted(ua(0))).toEqual({ bot: false, asked: 0 });
    }
    // The last 511 new strings are always kept.
    for (let i = 0; i < 511; i++) expect(counted(ua(50_000 + i)).asked).toBe(1);
    for (let i = 0; i < 511; i++) expect(counted(ua(50_000 + i)).asked).toBe(0);
    // Not seen while 1,024 new strings come: it goes, and is asked about again.
    for (let i = 0; i < 1024; i++) counted(ua(90_000 + i));
    expect(counted(ua(0))).toEqual({ bot: false, asked: 1 });
    expect(counted(GOOGLEBOT)).toEqual({ bot: true, asked: 1 });
  });

  it('does not keep strings longer than any browser sends', () => {
    const long = `${CHROME} ${'x'.repeat(600)}`;
    expect([counted(long), counted(long)]).toEqual([{ bot: false, asked: 1 }, { bot: false, asked: 1 }]);
    const longBot = `${GOOGLEBOT} ${'x'.repeat(600)}`;
    expect([counted(longBot), counted(longBot)]).toEqual([{ bot: true, asked: 1 }, { bot: true, asked: 1 }]);
  });
});
