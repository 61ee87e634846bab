// Crawlers, link-preview fetchers (WhatsApp, Facebook, Slack, X, iMessage, Telegram…) and
// headless browsers: never visits or clicks; a shortlink fetched by one counts as a preview.
// isbot keeps a maintained pattern list of them, which beats a hand list.
import type { IncomingHttpHeaders } from 'node:http';
import { isbot } from 'isbot';

/**
 * Verdicts of recent User-Agents. A page's visitors share a few hundred browser strings, and
 * isbot's one large pattern costs ~2 µs a string (about a twentieth of a pageview on the
 * ingest worker). Two generations, as quick-lru keeps them: a string seen again is found in
 * the newer map without a write (moving it to the end of one map on every hit put each
 * request's copy of the string in V8's old generation), one from the older map is copied
 * over, and when the newer map is full the older one is dropped. Strings longer than any
 * browser's are not kept, so the memo stays under ~1 MB.
 */
let recent = new Map<string, boolean>();
let older = new Map<string, boolean>();
const RECENT_MAX = 512;
const RECENT_LENGTH = 512;

export function isAutomated(userAgent: string | undefined | null): boolean {
  if (!userAgent) return true;
  const known = recent.get(userAgent);
  if (known !== undefined) return known;
  const bot = older.get(userAgent) ?? isbot(userAgent);
  if (userAgent.length > RECENT_LENGTH) return bot;
  if (recent.size >= RECENT_MAX) {
    older = recent;
    recent = new Map();
  }
  recent.set(userAgent, bot);
  return bot;
}

/**
 * A request from a bot: by its User-Agent, or by the client hints of a headless Chrome
 * whose User-Agent was made to look like a browser's (Sec-CH-UA still names HeadlessChrome).
 */
export function isAutomatedRequest(headers: IncomingHttpHeaders): boolean {
  return isAutomatedClient(headers['user-agent'], headers['sec-ch-ua']);
}

/** The same from the two header values (as the ingest worker receives them). */
export function isAutomatedClient(userAgent: string | undefined | null, hints: string | string[] | undefined | null): boolean {
  return isAutomated(userAgent) || (typeof hints === 'string' && /headless/i.test(hints));
}
