// Wires identity, consent, the pageview and its verdict, and conversions into linktrail().
import type { ConversionInput, EventProps } from './conversion';
import { cookie, isId, readTouch, rid, TOUCH_COOKIE, TOUCH_MAX_AGE, VID_COOKIE, VID_MAX_AGE, type Touch } from './identity';
import { navEntry } from './navigation';
import type { Verdict } from './pageview';
import { transport, type Transport } from './transport';
import { warn } from './warn';

/**
 * The script tag's data-* attributes, camelCased as `script.dataset` gives them, so the tag
 * and the ES module take the same options. A flag is on when present, even as "".
 */
export interface TrackerOptions {
  /** The site key. Required. */
  site: string;
  /** The collector's origin, e.g. "https://t.example.com". Required here; the tag defaults it to its own origin. */
  api: string;
  /** The event this page sells; default none. */
  event?: string;
  /** Comma-separated hosts that count as the platform itself, besides this page's host and the site's platformHosts. */
  platform?: string;
  /** Domain of the visitor cookies, to share them across subdomains; default this host. */
  cookieDomain?: string;
  /** Name of the affiliate query parameter, read before "affiliate" (which shortlinks use); default "affiliate". */
  param?: string;
  /** "required": write no cookie and send nothing until linktrail('consent', true). */
  consent?: string;
  /** Flag: track on localhost, 127.*, 0.0.0.0, [::1], [::], *.localhost and file: pages too. */
  allowLocalhost?: string | true;
  /** Flag: send nothing when the browser signals Global Privacy Control. */
  honorGpc?: string | true;
}

export interface TrackerDeps {
  /** How hits reach the collector; default: the pageview by fetch (for its verdict), conversions by sendBeacon. */
  send?: Transport;
}

/** What linktrail('ready', cb) passes: the visitor and their last touch (all null when none). */
export interface ReadyInfo extends Touch {
  vid: string;
}

/** The public command function, `window.linktrail` once the script has loaded. */
export interface Linktrail {
  (command: 'conversion', conversion: ConversionInput): void;
  (command: 'event', name: string, props?: EventProps): void;
  (command: 'consent', granted: boolean): void;
  (command: 'ready', callback: (info: ReadyInfo) => void): void;
}

/** Sends this page's pageview (unless blocked or waiting for consent) and returns linktrail(). */
export function createTracker(o: TrackerOptions, deps: TrackerDeps = {}): Linktrail {
  const send = deps.send || transport;
  const domain = o.cookieDomain;
  // Calls made while consent is pending: consent(true) runs them, consent(false) drops them,
  // all but this page's pageview (`page`), which waits for a later consent(true): a visitor
  // who first declines and then accepts on the landing page still brings its link.
  let held: (() => void)[] = [];
  let page: (() => void) | undefined;
  let granted: boolean | undefined = o.consent != 'required' || undefined;
  let off: unknown = 1;
  let vid: string;
  let touch: Touch = readTouch() || { clickId: null, channel: null, source: null, affiliate: null };
  // ready() callbacks waiting for the pageview's verdict; 0 once it came or won't.
  let waiting: ((info: ReadyInfo) => void)[] | 0 = [];

  const tell = (cb: (info: ReadyInfo) => void) => {
    try {
      cb({ vid, ...touch });
    } catch (e) {
      warn(e);
    }
  };
  const settle = () => {
    const w = waiting || [];
    waiting = 0;
    w.map(tell);
  };

  // Every hit names the site, the page's event and the visitor; its fields are read when it
  // goes, which may be after consent. Empty fields are left out to keep hits small.
  const hit = (fields: () => object, answer?: (verdict?: Verdict) => void) => {
    const f = () =>
      send(
        o.api,
        JSON.stringify({ site: o.site, event: o.event, vid, ...fields() }, (_k, v: unknown) => (v == null || v === '' ? undefined : v)),
        answer,
      );
    if (off) return;
    // A page the browser prerendered is no visit until the visitor opens it (it may never be):
    // its hits are decided then, consent as it stands then included.
    if ((document as Document & { prerendering?: boolean }).prerendering) document.addEventListener('prerenderingchange', () => hit(fields, answer));
    else if (granted) f();
    // This page's pageview (the one hit with an answer) waits even after a refusal: a later yes sends it.
    else if (granted == null || answer) held.push(answer ? (page = f) : f);
  };

  try {
    const n = navigator as Navigator & { globalPrivacyControl?: boolean };
    // The landing's address as it loaded: a single-page app may have replaced it before this
    // async script ran, or push another before consent. (The referrer never changes.)
    const landing = navEntry();
    const url = landing.name || location.href;
    const v = cookie(VID_COOKIE);
    // Minted now so that ready() has it, but only written once tracking may start.
    vid = isId(v) ? v : rid();
    off =
      n.webdriver ||
      // Loopback, the unspecified address (0.0.0.0, [::]) and *.localhost, with or without a
      // trailing dot; the browser has already turned 0, 0x7f.1 and the like into dotted quads.
      (o.allowLocalhost == null && /^(127\.|0\.0\.0\.0$|\[::1?]$|$)|localhost\.?$/.test(location.hostname)) ||
      (o.honorGpc != null && n.globalPrivacyControl);
    hit(
      // When the pageview goes (at load, or on consent however late), ready() waits for its
      // verdict, but checkout code never waits on a stalled collector for more than two seconds.
      () => (setTimeout(settle, 2e3), cookie(VID_COOKIE, vid, VID_MAX_AGE, domain), { url, referrer: document.referrer, nav: landing.type, platform: o.platform, param: o.param }),
      (a) => {
        // Consent withdrawn while the request was out: keep nothing.
        if (a && granted) {
          if (isId(a.vid)) cookie(VID_COOKIE, (vid = a.vid), VID_MAX_AGE, domain);
          if (a.touch && isId(a.cid))
            cookie(TOUCH_COOKIE, JSON.stringify((touch = { clickId: a.cid, channel: a.channel, source: a.source, affiliate: a.affiliate })), TOUCH_MAX_AGE, domain);
        }
        settle();
      },
    );
  } catch (e) {
    warn(e);
    settle();
  }
  // No verdict is ever coming: ready() gives the stored touch.
  if (off) settle();

  return (command: unknown, a?: unknown, b?: unknown) => {
    try {
      if (command == 'consent') {
        if ((granted = !!a)) {
          page = undefined;
          held.splice(0).map((f) => f());
        } else {
          held = page ? [page] : [];
          cookie(VID_COOKIE, '', 0, domain);
          cookie(TOUCH_COOKIE, '', 0, domain);
        }
      } else if (command == 'ready') {
        // A callback that is not a function warns when it is called, which may be later.
        // While consent is pending or refused, no verdict is on its way: the stored touch, at once.
        waiting && granted ? waiting.push(a as (info: ReadyInfo) => void) : tell(a as (info: ReadyInfo) => void);
      } else {
        const d = (
          // A non-purchase conversion (signup, download) still needs an order, for idempotency.
          // Its name must be a type the collector accepts, which would refuse it unseen.
          command == 'event' && typeof a == 'string' && /^[a-z][a-z\d_-]{0,31}$/.test(a)
            ? { order: rid(), ...(b as object), type: a }
            : command == 'conversion' && a
        ) as ConversionInput;
        if (!d.order) throw 'bad call';
        hit(() => ({ kind: 'conversion', cid: touch.clickId, ...d }));
      }
    } catch (e) {
      warn(command, e);
    }
  };
}
