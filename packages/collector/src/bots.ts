// Crawlers, link-preview fetchers (WhatsApp, Facebook, Slack, X, iMessage, Telegram…) and
// headless browsers: never visits or clicks; a shortlink fetched by one counts as a preview.
// isbot keeps a maintained pattern list of them, which beats a hand list.
import type { IncomingHttpHeaders } from 'node:http';
import { isbot } from 'isbot';

/**
 * Verdicts of recent User-Agents. A page's visitors share a few hundred browser strings, and
 * isbot's one large pattern costs ~2 µs a string (about a twentieth of a pageview on the
 * ingest worker). The least recently seen go first; strings longer than any browser's are
 * not kept, so the memo stays under ~1 MB.
 */
const recent = new Map<string, boolean>();
const RECENT_MAX = 1024;
const RECENT_LENGTH = 512;

export function isAutomated(userAgent: string | undefined | null): boolean {
  if (!userAgent) return true;
  let bot = recent.get(userAgent);
  if (bot === undefined) {
    bot = isbot(userAgent);
    if (userAgent.length > RECENT_LENGTH) return bot;
    if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value!);
  } else {
    recent.delete(userAgent);
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
