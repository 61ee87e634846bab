// Reads the attribution parameters of a page's query string (never its fragment).
import { NETWORKS } from './sources';

export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

/** Paid click-id parameters (SPEC §3 rule 3), matched by exact name. fbclid is not one of them. */
export const CLICK_IDS: readonly string[] = Object.keys(NETWORKS).filter((k) => NETWORKS[k][0] == 'click');

export interface Params {
  /** The affiliate code (the configured parameter, else `affiliate`): first occurrence, trimmed; null when absent or blank. */
  affiliate: string | null;
  /** utm_* values, trimmed, blank ones left out; `source` falls back to Plausible's `?source=`. */
  utm: Utm;
  /** The paid click ids present, by parameter name. */
  clickIds: Record<string, string>;
  fbclid: string | null;
  /** Click id minted by the collector's shortlink redirect (`lt_cid`). */
  ltCid: string | null;
}

/** `search` is a query string with or without its leading '?'. */
export function readParams(search: string, affiliateParam = 'affiliate'): Params {
  // URLSearchParams decodes '+' and %20, keeps malformed escapes as they are and never throws.
  const q = new URLSearchParams(search.split('#')[0]);
  const get = (k: string) => (q.get(k) || '').trim() || null;
  const pick = (keys: readonly string[], prefix = '') => {
    const found: Record<string, string> = {};
    for (const k of keys) {
      const v = get(prefix + k) || (k == 'source' && get(k));
      if (v) found[k] = v;
    }
    return found;
  };
  return {
    // The collector's own links and shortlinks (/r/CODE) always say `affiliate`, whatever the page's param.
    affiliate: get(affiliateParam) || get('affiliate'),
    utm: pick('source medium campaign term content'.split(' '), 'utm_'),
    clickIds: pick(CLICK_IDS),
    fbclid: get('fbclid'),
    ltCid: get('lt_cid'),
  };
}
