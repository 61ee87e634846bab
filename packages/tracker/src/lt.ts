// The script tag: reads its data-* options, starts the tracker and replays calls queued before load.
import { createTracker, type TrackerOptions } from './tracker';
import { warn } from './warn';

type Call = (...args: unknown[]) => void;

try {
  const w = window as Window & { linktrail?: Call & { q?: unknown[][] } };
  const s = document.currentScript as HTMLScriptElement;
  const d = s.dataset;
  if (!d.site) warn('data-site missing');
  // The tag pasted twice (by hand and by a tag manager) runs once: the queue stub takes no
  // parameters, linktrail() itself three.
  else if ((w.linktrail || ({} as Call)).length) warn('loaded twice');
  else {
    // data-api defaults to the origin the script was loaded from.
    const lt = createTracker({ api: d.api || new URL(s.src).origin, ...d } as TrackerOptions) as Call;
    const q = (w.linktrail && w.linktrail.q) || [];
    // Replace the stub first, so calls made from queued callbacks go straight through.
    w.linktrail = lt;
    q.map((a) => lt.apply(0, a));
  }
} catch (e) {
  warn(e);
}
