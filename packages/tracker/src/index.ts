// @linktrail/tracker as an ES module: the pure classifier and a programmatic tracker.
export { classify, normalizeHost, TOUCH_CHANNELS } from './classify';
export type { Channel, Classification, ClassifyOptions } from './classify';
export { readParams, CLICK_IDS } from './params';
export type { Params, Utm } from './params';
export { createTracker } from './tracker';
export type { Linktrail, ReadyInfo, TrackerDeps, TrackerOptions } from './tracker';
export type { Touch } from './identity';
export { pixelUrl } from './conversion';
export type { ConversionHit, ConversionInput, ConversionItem, EventProps } from './conversion';
export type { PageviewHit, Verdict } from './pageview';
export type { Nav } from './navigation';
export type { Transport } from './transport';
