// classify(): which channel and source brought a visit (SPEC §3). Pure, shared with the collector.
import { CLICK_IDS, readParams, type Params, type Utm } from './params';
import { NETWORKS, type Network } from './sources';

export type Channel =
  | 'affiliate'
  | 'paid'
  | 'social'
  | 'search'
  | 'email'
  | 'referral'
  | 'campaign'
  | 'platform'
  | 'direct'
  | 'unknown';

/** Channels that start a visit (a set; listed in GA4's order of precedence, which fromUtm relies on). */
export const TOUCH_CHANNELS: readonly Channel[] = ['paid', 'social', 'search', 'email', 'affiliate', 'referral', 'campaign'];

export interface Classification {
  channel: Channel;
  source: string | null;
  affiliate: string | null;
}

export interface ClassifyOptions {
  /** Hosts (and their subdomains) that count as the platform itself. Default: none. */
  platformHosts?: readonly string[];
  /** Name of the affiliate parameter, read before `affiliate` (which shortlinks use). Default: 'affiliate'. */
  affiliateParam?: string;
}

type Hit = [string, string | null];

const UNKNOWN: Hit = ['unknown', null];
const PLATFORM: Hit = ['platform', null];

/** Lowercase, without port or trailing dot (IDN as punycode); null when it cannot be a host. */
export function normalizeHost(host: string): string | null {
  // Already normal (a parsed URL's hostname, a stored setting): as is, without parsing again.
  // Not an IPv4 form (its last label would be numeric) nor punycode (which URL checks).
  if (/^([a-z\d-]+\.)*[a-z]+$/.test(host) && !/xn--/.test(host)) return host.length < 254 ? host : null;
  try {
    const h = new URL('http://' + host.trim()).hostname.replace(/\.$/, '');
    return h.length < 254 && h ? h : null;
  } catch {
    return null;
  }
}

const bare = (host: string) => host.replace(/^www\./, '');

// The network of the longest listed key the host ends with, on whole labels; `name.*` keys are
// tried on the host minus its country ending (google.co.uk → google.*).
const find = (host: string): Network | undefined => {
  const end = /(\.(com?|net|org))?\.[a-z]{2,3}$/.exec(host);
  for (let s = host; s.includes('.'); s = s.slice(s.indexOf('.') + 1)) {
    const n = NETWORKS[s] || (end && NETWORKS[s.slice(0, -end[0].length) + '.*']);
    if (n) return n;
  }
  return undefined;
};

const fromReferrer = (ref: string, hosts: string[]): Hit | undefined => {
  if (ref) {
    try {
      const u = new URL(ref);
      const name = u.hostname.toLowerCase();
      // Chrome on Android names the app that opened the link: android-app://com.whatsapp/.
      const app = u.protocol == 'android-app:';
      const h =
        ref.length <= 8192 &&
        (app
          ? /^\w+(\.\w+)+$/.test(name) && name.split('.').reverse().join('.')
          : /^https?:$/.test(u.protocol) && normalizeHost(name));
      if (h) {
        if (
          !app &&
          (/\/oauth2?(\/|$)/.test(u.pathname) ||
            hosts.some((p) => ('.' + bare(h)).endsWith('.' + bare(normalizeHost(p) || ''))))
        )
          return PLATFORM;
        if (!/^(localhost|127(\.\d+){3}|\[::1\])$|\.localhost$/.test(h)) {
          const n = find(h);
          return n && n[0] == 'platform' ? PLATFORM : [n ? n[0] : 'referral', (n && n[1]) || (app ? name : bare(h))];
        }
      }
    } catch {}
    return UNKNOWN;
  }
  return undefined;
};

// GA4's default channel group, matched on utm_medium (and on utm_source for email), in
// TOUCH_CHANNELS order. The source's own network votes too: tiktok + organic is social.
const MEDIUM = [
  /cp|^paid|^(ppc|retargeting|display|banner|expandable|interstitial)$/,
  /^(sm|social([-_ ](network|media))?)$/,
  /^organic$/,
  /e[-_ ]?mail|newsletter/,
  /^affiliates?$/,
  /^(referral|app|link)$/,
  /$/,
];

const fromUtm = (utm: Utm): Hit | undefined => {
  const s = (utm.source || '').toLowerCase();
  const m = (utm.medium || '').toLowerCase();
  if (s || m) {
    // No source, no network: NETWORKS[''] is the forced-referral one, which would make a bare
    // utm_medium=sms a referral instead of a campaign.
    let n: Network | undefined = s ? NETWORKS[s] || find(s) : undefined;
    // Plausible's paid source aliases: fb-ads, facebook_ads, tiktokads, yt-ads, google ads…
    const ad = !n && /^(.+?)[-_ ]?(feed[-_ ]?)?ads?$/.exec(s);
    if (ad && (n = NETWORKS[ad[1]])) n = ['paid', n[1]];
    const k = MEDIUM.findIndex(
      (re, i) =>
        (n && n[0]) == TOUCH_CHANNELS[i] ||
        re.test(i == 3 ? m + '|' + s : m) ||
        (!i && /cross-network/i.test(utm.campaign || '')),
    );
    return [TOUCH_CHANNELS[k], (n && n[1]) || s || null];
  }
  return undefined;
};

/** `params`: the page's readParams(), when the caller has read them already. */
export function classify(url: string, referrer?: string | null, options: ClassifyOptions = {}, params?: Params): Classification {
  try {
    // A base keeps the query of a relative url readable.
    const page = new URL(url, 'http://-');
    const p = params || readParams(page.search, options.affiliateParam);
    const r = fromReferrer(String(referrer || '').trim(), [page.hostname].concat(options.platformHosts || []));
    const id = CLICK_IDS.find((k) => p.clickIds[k]);
    const paid = id && NETWORKS[id][1];
    const u = fromUtm(p.utm);
    const fb = p.fbclid && 'facebook';
    const [channel, source] = p.affiliate
      ? ['affiliate', (u && u[1]) || paid || (r && r[1]) || fb || null]
      : (r && r[0] == 'platform' && r) || (paid && ['paid', paid]) || u || r || (fb && ['social', fb]) || ['direct', null];
    return { channel: channel as Channel, source, affiliate: p.affiliate };
  } catch {
    return { channel: 'unknown', source: null, affiliate: null };
  }
}
