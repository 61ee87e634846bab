import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classify, normalizeHost, TOUCH_CHANNELS, type Channel } from '../src/classify';
import { CLICK_IDS, readParams } from '../src/params';

interface Case {
  url: string;
  referrer: string;
  expected: { channel: Channel; source: string | null };
  why: string;
  platformHosts: string[];
}

// A copy of the product's worked cases (shared/data beside the repository), so a clone
// tests on its own; the test below fails when the shared file has moved on from it.
const FIXTURE = new URL('./fixtures/referrer-cases.jsonl', import.meta.url);
const SHARED = new URL('../../../../shared/data/referrer-cases.jsonl', import.meta.url);
const cases: Case[] = readFileSync(FIXTURE, 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as Case);

const PAGE = 'https://tickets.example.com/e/summer-fest';
const platformHosts = ['example.com'];
/** [channel, source] for a landing on PAGE + query from referrer. */
const run = (referrer: string | null, query = '', options = {}) => {
  const c = classify(PAGE + query, referrer, { platformHosts, ...options });
  return [c.channel, c.source];
};

it.runIf(existsSync(SHARED))('the vendored cases are the shared ones', () => {
  expect(readFileSync(FIXTURE, 'utf8')).toBe(readFileSync(SHARED, 'utf8'));
});

describe('the shared worked cases', () => {
  it('are all loaded from the shared file', () => expect(cases.length).toBeGreaterThanOrEqual(160));

  it.each(cases)('$expected.channel/$expected.source: $why', (c) => {
    const got = classify(c.url, c.referrer, { platformHosts: c.platformHosts });
    expect([got.channel, got.source]).toEqual([c.expected.channel, c.expected.source]);
  });

  // The collector reads the query once and hands it in (ingest.ts).
  it('classify the same with the query read by the caller', () => {
    for (const c of cases) {
      const page = c.url.split('#')[0]!;
      const params = readParams(page.includes('?') ? page.slice(page.indexOf('?') + 1) : '');
      expect(classify(c.url, c.referrer, { platformHosts: c.platformHosts }, params)).toEqual(classify(c.url, c.referrer, { platformHosts: c.platformHosts }));
    }
  });
});

describe('referrers', () => {
  it.each([
    ['https://www.google.com.mx/', 'search', 'google'],
    ['https://www.google.co.jp/search?q=x', 'search', 'google'],
    ['https://www.google.fr/', 'search', 'google'],
    ['https://google.co.in/', 'search', 'google'],
    ['https://cn.bing.com/', 'search', 'bing'],
    ['https://www.bing.co.uk/', 'search', 'bing'],
    ['https://yandex.by/', 'search', 'yandex'],
    ['https://yandex.kz/search/', 'search', 'yandex'],
    ['https://ya.ru/', 'search', 'yandex'],
    ['https://uk.search.yahoo.com/', 'search', 'yahoo'],
    ['https://r.search.yahoo.com/_ylt=x', 'search', 'yahoo'],
    ['https://search.aol.co.uk/', 'search', 'aol'],
    ['https://www.baidu.com/link?url=x', 'search', 'baidu'],
    ['https://html.duckduckgo.com/', 'search', 'duckduckgo'],
    ['https://www.ecosia.org/', 'search', 'ecosia'],
    ['https://search.brave.com/', 'search', 'brave'],
    ['https://lite.qwant.com/', 'search', 'qwant'],
    ['https://www.startpage.com/', 'search', 'startpage'],
    ['https://search.naver.com/', 'search', 'naver'],
    ['https://m.sogou.com/', 'search', 'sogou'],
    ['https://m.so.com/', 'search', '360'],
    ['https://search.seznam.cz/', 'search', 'seznam'],
    ['https://search.daum.net/', 'search', 'daum'],
    ['https://www.ask.com/', 'search', 'ask'],
    ['https://coccoc.com/search', 'search', 'coccoc'],
    ['https://www.petalsearch.com/', 'search', 'petal'],
    ['https://kagi.com/', 'search', 'kagi'],
    ['https://outlook.live.com/mail/0/', 'email', 'outlook'],
    ['https://outlook.office.com/', 'email', 'outlook'],
    ['https://outlook.office365.com/', 'email', 'outlook'],
    ['https://mail.yahoo.co.jp/', 'email', 'yahoo-mail'],
    ['https://mail.protonmail.com/', 'email', 'proton'],
    ['https://mail.zoho.eu/', 'email', 'zoho-mail'],
    ['https://deref-gmx.com/mail/client/x/dereferrer/', 'email', 'gmx'],
    ['https://www.gmx.net/', 'email', 'gmx'],
    ['https://deref-web-02.de/mail/client/x/dereferrer/', 'email', 'web.de'],
    ['https://mail.daum.net/', 'email', 'daum-mail'],
    ['https://mail.yandex.ru/', 'email', 'yandex-mail'],
    ['https://e.mail.ru/inbox/', 'email', 'mail.ru'],
    ['https://mail.qq.com/', 'email', 'qq-mail'],
    ['https://www.icloud.com/mail/', 'email', 'icloud'],
    ['https://l.facebook.com/l.php?u=x', 'social', 'facebook'],
    ['https://fb.watch/abc/', 'social', 'facebook'],
    ['https://m.youtube.com/watch?v=x', 'social', 'youtube'],
    ['https://youtu.be/x', 'social', 'youtube'],
    ['https://lnkd.in/abc', 'social', 'linkedin'],
    ['https://www.linkedin.com/', 'social', 'linkedin'],
    ['https://pin.it/abc', 'social', 'pinterest'],
    ['https://www.pinterest.co.uk/', 'social', 'pinterest'],
    ['https://out.reddit.com/t3_x', 'social', 'reddit'],
    ['https://wa.me/441234', 'social', 'whatsapp'],
    ['https://l.wl.co/l?u=x', 'social', 'whatsapp'],
    ['https://t.me/somechannel', 'social', 'telegram'],
    ['https://discord.gg/abc', 'social', 'discord'],
    ['https://ptb.discord.com/', 'social', 'discord'],
    ['https://slack-redir.net/link?url=x', 'social', 'slack'],
    ['https://line.me/R/', 'social', 'line'],
    ['https://bsky.app/profile/x', 'social', 'bluesky'],
    ['https://mobile.twitter.com/', 'social', 'twitter'],
    ['https://x.com/djsam', 'social', 'twitter'],
    ['https://l.messenger.com/', 'social', 'messenger'],
    ['https://m.me/djsam', 'social', 'messenger'],
    ['https://www.threads.com/@djsam', 'social', 'threads'],
    ['https://m.vk.com/', 'social', 'vk'],
    ['https://www.snapchat.com/', 'social', 'snapchat'],
    ['https://beacons.ai/djsam', 'social', 'beacons'],
    ['https://campsite.bio/djsam', 'social', 'campsite'],
    ['https://taplink.cc/djsam', 'social', 'taplink'],
    ['https://solo.to/djsam', 'social', 'soloto'],
    ['https://googleads.g.doubleclick.net/pagead/x', 'paid', 'google'],
    ['https://pagead2.googlesyndication.com/', 'paid', 'google'],
    ['https://adservice.google.de/', 'paid', 'google'],
    ['https://chatgpt.com/', 'referral', 'chatgpt'],
    ['https://copilot.microsoft.com/', 'referral', 'copilot'],
    ['https://chat.deepseek.com/', 'referral', 'deepseek'],
    ['https://grok.com/', 'referral', 'grok'],
    ['https://chat.mistral.ai/', 'referral', 'mistral'],
    ['https://de.m.wikipedia.org/wiki/X', 'referral', 'wikipedia'],
    ['https://maps.google.de/', 'referral', 'maps.google.de'],
    ['https://docs.google.com/document/d/x', 'referral', 'docs.google.com'],
    ['https://calendar.google.com/', 'referral', 'calendar.google.com'],
    ['https://www.eventbrite.co.uk/e/1', 'referral', 'eventbrite.co.uk'],
  ])('%s is %s/%s', (referrer, channel, source) => {
    expect(run(referrer)).toEqual([channel, source]);
  });

  it.each([
    ['com.facebook.katana', 'social', 'facebook'],
    ['com.facebook.lite', 'social', 'facebook'],
    ['com.instagram.android', 'social', 'instagram'],
    ['com.zhiliaoapp.musically', 'social', 'tiktok'],
    ['com.ss.android.ugc.trill', 'social', 'tiktok'],
    ['com.linkedin.android', 'social', 'linkedin'],
    ['com.pinterest', 'social', 'pinterest'],
    ['com.reddit.frontpage', 'social', 'reddit'],
    ['com.discord', 'social', 'discord'],
    ['jp.naver.line.android', 'social', 'line'],
    ['org.telegram.messenger', 'social', 'telegram'],
    ['com.whatsapp.w4b', 'social', 'whatsapp'],
    ['COM.WhatsApp', 'social', 'whatsapp'],
    ['com.google.android.gm', 'email', 'gmail'],
    ['com.google.android.googlequicksearchbox', 'search', 'google'],
    ['com.google.android.apps.maps', 'referral', 'com.google.android.apps.maps'],
    ['com.google.android.gms', 'referral', 'com.google.android.gms'],
    ['com.android.chrome', 'referral', 'com.android.chrome'],
  ])('the Android app %s is %s/%s', (pkg, channel, source) => {
    expect(run(`android-app://${pkg}/`)).toEqual([channel, source]);
  });

  it.each([
    'https://notgoogle.com/',
    'https://google.com.evil.io/',
    'https://mail.google.com.evil.io/',
    'https://facebook.com.attacker.net/',
    'https://myfacebook.com/',
    'https://t.co.uk/',
    'https://xt.co/',
    'https://x.company.com/',
    'https://example.com.evil.com/',
    'https://evilexample.com/',
    'https://evil.com/?ref=google.com',
    'https://evil.com/redirect?u=https%3A%2F%2Ffacebook.com',
  ])('%s matches no network nor the platform: it is a referral from its own host', (referrer) => {
    expect(run(referrer)).toEqual(['referral', new URL(referrer).hostname]);
  });

  it.each([
    ['https://www.paypal.com/checkoutnow', {}],
    ['https://checkoutshopper-live.adyen.com/', {}],
    ['https://pay.klarna.com/', {}],
    ['https://www.mollie.com/checkout/', {}],
    ['https://assets.braintreegateway.com/', {}],
    ['https://centinelapi.cardinalcommerce.com/', {}],
    ['https://appleid.apple.com/', {}],
    ['https://login.microsoftonline.com/', {}],
    ['https://login.live.com/', {}],
    ['https://accounts.google.co.uk/', {}],
    ['https://www.facebook.com/v19.0/dialog/oauth', {}],
    ['https://github.com/login/oauth/authorize', {}],
    ['https://tickets.example.com/x', { platformHosts: [] }],
    ['https://www.tickets.example.com/', { platformHosts: [] }],
    ['https://shop.clubnight.co.uk/', { platformHosts: ['WWW.ClubNight.co.uk.'] }],
    ['https://clubnight.co.uk/', { platformHosts: ['clubnight.co.uk:443'] }],
  ])('%s is the platform', (referrer, options) => {
    expect(run(referrer, '', options)).toEqual(['platform', null]);
  });

  it('a loopback referrer is the platform when the page itself is on that host', () => {
    expect(classify('http://localhost:3000/e/x', 'http://localhost:3000/', {}).channel).toBe('platform');
    expect(classify('http://[::1]:8080/e/x', 'http://[::1]:8080/', {}).channel).toBe('platform');
  });

  it.each([
    'http://localhost:3000/',
    'http://app.localhost/',
    'http://127.0.0.2/',
    'http://[::1]:8080/',
    'chrome://newtab/',
    'about:blank',
    'data:text/html,hi',
    'ftp://files.example.org/',
    'mailto:promo@example.org',
    'null',
    'https://',
    `https://${'a'.repeat(250)}.com/`,
    `https://www.facebook.com/${'a'.repeat(8200)}`,
    'android-app://not a package/',
  ])('%s is unknown', (referrer) => {
    expect(run(referrer)).toEqual(['unknown', null]);
  });

  it.each([null, undefined, '', '\t \n'])('a missing referrer (%j) with no parameters is direct', (referrer) => {
    expect(run(referrer as string | null)).toEqual(['direct', null]);
  });
});

describe('precedence', () => {
  it.each([
    ['?affiliate=mia', 'https://checkout.stripe.com/', 'affiliate', null],
    ['?affiliate=mia&utm_source=IG', 'https://checkout.stripe.com/', 'affiliate', 'instagram'],
    ['?affiliate=mia&utm_source=fb-ads', '', 'affiliate', 'facebook'],
    ['?affiliate=mia&utm_medium=email', 'https://www.google.de/', 'affiliate', 'google'],
    ['?affiliate=mia&msclkid=1', 'https://t.co/', 'affiliate', 'bing'],
    ['?affiliate=mia&utm_source=newsletter&gclid=1', '', 'affiliate', 'newsletter'],
    ['?affiliate=mia', 'https://www.residentadvisor.net/', 'affiliate', 'residentadvisor.net'],
    ['?affiliate=mia', 'android-app://com.example.app/', 'affiliate', 'com.example.app'],
    ['?affiliate=mia', 'https://maps.google.com/', 'affiliate', 'maps.google.com'],
    ['?affiliate=mia&fbclid=x', '', 'affiliate', 'facebook'],
    ['?affiliate=mia', 'http://localhost/', 'affiliate', null],
    ['?utm_source=newsletter&utm_medium=email', 'https://tickets.example.com/', 'platform', null],
    ['?gclid=1&utm_source=newsletter&utm_medium=email', 'https://t.co/', 'paid', 'google'],
    ['?ttclid=1', '', 'paid', 'tiktok'],
    ['?li_fat_id=1', '', 'paid', 'linkedin'],
    ['?epik=1', '', 'paid', 'pinterest'],
    ['?gclid=1', 'not a url', 'paid', 'google'],
    ['?utm_source=flyer', 'not a url', 'campaign', 'flyer'],
    ['?utm_source=newsletter', 'https://www.facebook.com/', 'email', 'newsletter'],
    ['?fbclid=x', 'https://www.google.com/', 'search', 'google'],
    ['?fbclid=x', '', 'social', 'facebook'],
    ['?fbclid=', '', 'direct', null],
    ['?utm_campaign=summer', 'https://t.co/', 'social', 'twitter'],
  ])('%s from %j is %s/%s', (query, referrer, channel, source) => {
    expect(run(referrer, query)).toEqual([channel, source]);
  });

  it('the affiliate code comes back trimmed, from a custom parameter when configured', () => {
    expect(classify(`${PAGE}?ref=%20crew42%20&affiliate=mia`, '', { affiliateParam: 'ref' })).toEqual({
      channel: 'affiliate',
      source: null,
      affiliate: 'crew42',
    });
  });

  it('with a custom parameter, still reads `affiliate`, which the collector’s own links and shortlinks use', () => {
    expect(classify(`${PAGE}?affiliate=mia&lt_cid=Q2xpY2tJZEZyb21SMQ`, '', { affiliateParam: 'ref' })).toEqual({
      channel: 'affiliate',
      source: null,
      affiliate: 'mia',
    });
    expect(readParams('affiliate=mia&lt_cid=Q2xpY2tJZEZyb21SMQ', 'ref')).toMatchObject({ affiliate: 'mia', ltCid: 'Q2xpY2tJZEZyb21SMQ' });
    expect(readParams('ref=%20&affiliate=mia', 'ref').affiliate).toBe('mia');
    expect(readParams('ref=mia', 'affiliate').affiliate).toBeNull();
  });
});

describe('utm tags', () => {
  it.each([
    ['?utm_medium=cpc', 'paid', null],
    ['?utm_source=bandsintown&utm_medium=ppc', 'paid', 'bandsintown'],
    ['?utm_source=ra&utm_medium=cpm', 'paid', 'ra'],
    ['?utm_source=ra&utm_medium=display', 'paid', 'ra'],
    ['?utm_source=google&utm_medium=Paid_Search', 'paid', 'google'],
    ['?utm_source=partner&utm_campaign=Summer-Cross-Network', 'paid', 'partner'],
    ['?utm_source=google-ads', 'paid', 'google'],
    ['?utm_source=Facebook+Ads', 'paid', 'facebook'],
    ['?utm_source=facebook_feed_ad', 'paid', 'facebook'],
    ['?utm_source=reddit-ads', 'paid', 'reddit'],
    ['?utm_source=gads', 'paid', 'google'],
    ['?utm_source=roads', 'campaign', 'roads'],
    ['?utm_source=x', 'social', 'twitter'],
    ['?utm_source=ig&utm_medium=story', 'social', 'instagram'],
    ['?utm_source=yt&utm_medium=video', 'social', 'youtube'],
    ['?utm_source=m.facebook.com&utm_medium=referral', 'social', 'facebook'],
    ['?utm_source=crew&utm_medium=sm', 'social', 'crew'],
    ['?utm_source=crew&utm_medium=social-network', 'social', 'crew'],
    ['?utm_source=crew&utm_medium=social%20media', 'social', 'crew'],
    ['?utm_source=gmail&utm_medium=organic', 'search', 'gmail'],
    ['?utm_source=google&utm_medium=email', 'search', 'google'],
    ['?utm_source=duckduckgo', 'search', 'duckduckgo'],
    ['?utm_source=www.google.co.uk', 'search', 'google'],
    ['?utm_medium=organic', 'search', null],
    ['?utm_source=list&utm_medium=e_mail', 'email', 'list'],
    ['?utm_source=list&utm_medium=e+mail', 'email', 'list'],
    ['?utm_source=list&utm_medium=EMAIL', 'email', 'list'],
    ['?utm_source=weekly-newsletter', 'email', 'weekly-newsletter'],
    ['?utm_source=gmail', 'email', 'gmail'],
    ['?utm_source=partner&utm_medium=affiliate', 'affiliate', 'partner'],
    ['?utm_source=wikipedia&utm_medium=affiliate', 'affiliate', 'wikipedia'],
    ['?utm_source=blog&utm_medium=referral', 'referral', 'blog'],
    ['?utm_source=blog&utm_medium=link', 'referral', 'blog'],
    ['?utm_source=chatgpt.com', 'referral', 'chatgpt'],
    ['?utm_source=maps.google.com', 'referral', 'maps.google.com'],
    ['?utm_source=paypal.com', 'campaign', 'paypal.com'],
    ['?utm_source=Klaviyo&utm_medium=whatsapp-broadcast', 'campaign', 'klaviyo'],
    ['?utm_source=bus-stop&utm_medium=audio', 'campaign', 'bus-stop'],
    ['?utm_source=mail&utm_medium=e', 'campaign', 'mail'],
    ['?utm_source=&source=flyer', 'campaign', 'flyer'],
    ['?utm_source=poster&source=flyer', 'campaign', 'poster'],
    ['?ref=flyer', 'direct', null],
    // A medium alone, without a source: its rule, else tagged but matching nothing.
    ['?utm_medium=sms', 'campaign', null],
    ['?utm_medium=push', 'campaign', null],
    ['?utm_medium=video', 'campaign', null],
    ['?utm_medium=social', 'social', null],
    ['?utm_medium=newsletter', 'email', null],
    ['?utm_medium=affiliate', 'affiliate', null],
    ['?utm_medium=referral', 'referral', null],
  ])('%s is %s/%s', (query, channel, source) => {
    expect(run('', query)).toEqual([channel, source]);
  });
});

describe('readParams', () => {
  it('takes the first occurrence of a repeated parameter', () => {
    const p = readParams('?affiliate=mia&affiliate=sam&utm_source=a&utm_source=b');
    expect([p.affiliate, p.utm.source]).toEqual(['mia', 'a']);
  });

  it('decodes + and %20 and trims values', () => {
    expect(readParams('utm_campaign=summer+fest%20 &affiliate=+dj%20sam+').utm.campaign).toBe('summer fest');
    expect(readParams('affiliate=+dj%20sam+').affiliate).toBe('dj sam');
  });

  it('keeps malformed percent escapes instead of throwing', () => {
    expect(readParams('?affiliate=50%25off%zz&utm_source=100%').affiliate).toBe('50%off%zz');
    expect(readParams('?utm_source=100%').utm.source).toBe('100%');
    // Percent-escapes that are not UTF-8 decode to U+FFFD, as in every browser.
    expect(readParams('?affiliate=%E0%A4%A').affiliate).toBe('\ufffd%A');
  });

  it('leaves out blank values and ignores the fragment', () => {
    expect(readParams('?utm_source=%20&utm_medium=&affiliate=#utm_source=fb')).toEqual({
      affiliate: null,
      utm: {},
      clickIds: {},
      fbclid: null,
      ltCid: null,
    });
  });

  it('reads every utm field, paid click ids by exact name, fbclid and lt_cid', () => {
    const q = 'utm_source=s&utm_medium=m&utm_campaign=c&utm_term=t&utm_content=x&gclid=g&sccid=no&ScCid=sc&fbclid=f&lt_cid=L';
    expect(readParams(q)).toEqual({
      affiliate: null,
      utm: { source: 's', medium: 'm', campaign: 'c', term: 't', content: 'x' },
      clickIds: { gclid: 'g', ScCid: 'sc' },
      fbclid: 'f',
      ltCid: 'L',
    });
  });

  it('lists the paid click ids of SPEC §3 and not fbclid', () => {
    expect([...CLICK_IDS].sort()).toEqual(
      ['gclid', 'gbraid', 'wbraid', 'dclid', 'msclkid', 'ttclid', 'twclid', 'li_fat_id', 'ScCid', 'epik', 'rdt_cid'].sort(),
    );
  });
});

describe('normalizeHost', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com:8443', 'example.com'],
    [' www.example.com ', 'www.example.com'],
    ['[::1]:80', '[::1]'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['', null],
    ['exa mple.com', null],
    [`${'a'.repeat(250)}.com`, null],
    ['tickets.example.com', 'tickets.example.com'],
    ['localhost', 'localhost'],
    ['0x7f.1', '127.0.0.1'],
    ['192.168.0.1', '192.168.0.1'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
    ['xn--a.com', null],
  ])('%j becomes %j', (host, expected) => {
    expect(normalizeHost(host)).toBe(expected);
  });
});

describe('classify', () => {
  it('never throws, whatever it is given', () => {
    const junk: unknown[] = [undefined, null, 0, {}, [], 'not a url', '%', '?', '#', '\u0000', 'x'.repeat(100_000)];
    for (const url of junk)
      for (const referrer of junk)
        for (const options of [undefined, null, {}, { platformHosts: junk }, { platformHosts: 'example.com' }])
          expect(() => classify(url as string, referrer as string, options as object)).not.toThrow();
  });

  it('touch channels are the seven that credit a source', () => {
    expect([...TOUCH_CHANNELS].sort()).toEqual(['affiliate', 'campaign', 'email', 'paid', 'referral', 'search', 'social']);
  });
});
