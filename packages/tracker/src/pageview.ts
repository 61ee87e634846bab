// The hit every page load sends, and the collector's answer to it.
import type { Channel } from './classify';
import type { Nav } from './navigation';

/** The pageview: the collector reads lt_cid, the affiliate code, utm and click ids from `url`. */
export interface PageviewHit {
  site: string;
  event?: string;
  vid: string;
  url: string;
  referrer?: string;
  /** How the page was reached: a reload or back/forward step is never a new visit nor a new click. */
  nav?: Nav;
  /** data-platform: more hosts that count as the platform itself (comma-separated). */
  platform?: string;
  /** data-param: the affiliate parameter's name when it is not `affiliate`. */
  param?: string;
}

/** The collector's verdict on a pageview, answered to the script's fetch. */
export interface Verdict {
  /** The canonical visitor id: the collector's own cookie outlives script cookies capped at 7 days. */
  vid: string;
  /** The click id of this touch: the shortlink's lt_cid or one the collector minted. */
  cid: string | null;
  channel: Channel;
  source: string | null;
  affiliate: string | null;
  /** This page is a new touch: it becomes the last touch. */
  touch: boolean;
}
