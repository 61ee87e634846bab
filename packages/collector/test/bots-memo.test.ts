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

  it('keeps 1,024 strings, dropping the least recently seen, so a flood of new ones keeps it bounded', () => {
    const ua = (i: number) => `${CHROME} build/${i}`;
    for (let i = 0; i < 1024; i++) counted(ua(i));
    // Seen again: now the most recent, it outlives the flood below; build/1 does not.
    expect(counted(ua(0))).toEqual({ bot: false, asked: 0 });
    for (let i = 1024; i < 1024 + 1023; i++) counted(ua(i));
    expect(counted(ua(0))).toEqual({ bot: false, asked: 0 });
    expect(counted(ua(1))).toEqual({ bot: false, asked: 1 });
    // One more than it keeps: the oldest goes, and is asked about again.
    for (let i = 5000; i < 5000 + 1024; i++) counted(ua(i));
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
