// Crawlers, link-preview fetchers (WhatsApp, Facebook, Slack, X, iMessage, Telegram…) and
// headless browsers: never visits or clicks; a shortlink fetched by one counts as a preview.
// isbot keeps a maintained pattern list of them, which beats a hand list.
import type { IncomingHttpHeaders } from 'node:http';
import { isbot } from 'isbot';

export function isAutomated(userAgent: string | undefined | null): boolean {
  return !userAgent || isbot(userAgent);
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
