import { clickId, slug, timestamp, visitorId } from './common.js';

/** A pageview as the script (or a server) sends it. Only site, vid and url are required:
 *  the collector classifies from url and referrer itself and ignores the script's verdict. */
export const hitFields = {
  vid: visitorId,
  cid: clickId,
  url: { type: 'string', minLength: 1, maxLength: 8192 },
  referrer: { type: 'string', maxLength: 16384 },
  event: slug,
  nav: { type: 'string', enum: ['navigate', 'reload', 'back_forward', 'prerender'] },
  /** The script's data-platform (comma-separated hosts) and data-param. */
  platform: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z0-9.,: -]*$' },
  param: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' },
} as const;

export interface HitInput {
  vid: string;
  cid?: string;
  url: string;
  referrer?: string;
  event?: string;
  nav?: 'navigate' | 'reload' | 'back_forward' | 'prerender';
  platform?: string;
  param?: string;
  ts?: string | number;
  ip?: string;
  ua?: string;
}

export const serverHit = {
  type: 'object',
  required: ['vid', 'url'],
  properties: {
    ...hitFields,
    ts: timestamp,
    ip: { type: 'string', maxLength: 64 },
    ua: { type: 'string', maxLength: 1024 },
  },
} as const;
