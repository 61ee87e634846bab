import type { Verdict } from './pageview';

/**
 * Delivers one JSON hit to the collector whose origin is `api`. Injectable for tests.
 * `answer` is given for the pageview only: the transport then asks for the collector's verdict
 * and calls `answer` once, with it, or with nothing when none came (no fetch, a failed request).
 */
export type Transport = (api: string, body: string, answer?: (verdict?: Verdict) => void) => void;

// The first way that neither throws nor refuses (sendBeacon is false when it won't queue a hit).
const first = (...ways: (() => unknown)[]) =>
  ways.some((w) => {
    try {
      return w();
    } catch {
      // Threw: not this way (undefined is as falsy as a refusal).
      return;
    }
  });

// A string body goes as text/plain and Accept is CORS-safelisted: a simple request on every
// path, never a preflight. The collector answers 200 with the verdict to that Accept, else 204.
export const transport: Transport = (api, body, answer) => {
  const url = api + '/collect';
  const post = () =>
    fetch(url, { method: 'POST', body, keepalive: true, credentials: 'include', headers: { Accept: 'application/json' } });
  // A rejected fetch may well have reached the collector (a CORS-blocked answer, a reset after
  // sending): sending it again could count the page twice, so only a fetch that never left
  // (missing, or throwing at once) falls back.
  if (!(answer && first(() => post().then((r) => r.json()).then(answer, () => answer())))) {
    // Conversions often fire right before a navigation, which sendBeacon survives best.
    first(
      () => navigator.sendBeacon(url, body),
      // Not again for a pageview: its fetch has just thrown.
      () => !answer && post().catch(() => 0),
      () => (new Image().src = url + '.gif?d=' + encodeURIComponent(body)),
    );
    if (answer) answer();
  }
};
