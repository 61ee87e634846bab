// The script tag: reads its data-* options, starts the tracker and replays calls queued before load.
import { createTracker, type TrackerOptions } from './tracker';
import { warn } from './warn';

/** linktrail(): the queue stub (with q), or the tracker (with s, the site it tracks). */
type Call = ((...args: unknown[]) => void) & { q?: unknown[][]; s?: string };

try {
  const w = window as Window & { linktrail?: Call };
  const s = document.currentScript as HTMLScriptElement;
  const d = s.dataset;
  // The queue stub, a tracker already running, or nothing.
  const before = w.linktrail || ({} as Call);
  if (!d.site) warn('no data-site');
  // The tag pasted twice for one site (by hand and by a tag manager) runs once; a tag for
  // another site on the same page runs too (linktrail() then calls the last one).
  else if (before.s == d.site) warn('loaded twice');
  else {
    const q = before.q || [];
    // data-api defaults to the origin the script was loaded from. A refusal queued before the
    // script came holds this page's pageview back until a yes (replayed after it, or later).
    const lt = createTracker({
      ...d,
      api: d.api || new URL(s.src).origin,
      consent: q.some((a) => a[0] == 'consent' && !a[1]) ? 'required' : d.consent,
    } as TrackerOptions) as Call;
    lt.s = d.site;
    // Replace the stub first, so calls made from queued callbacks go straight through.
    w.linktrail = lt;
    q.map((a) => lt.apply(0, a));
  }
} catch (e) {
  warn(e);
}
