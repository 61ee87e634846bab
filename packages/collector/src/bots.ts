// Crawlers, link-preview fetchers (WhatsApp, Facebook, Slack, X, iMessage, Telegram…) and
// headless browsers: never visits or clicks; a shortlink fetched by one counts as a preview.
// isbot keeps a maintained pattern list of them, which beats a hand list.
import { isbot } from 'isbot';

export function isAutomated(userAgent: string | undefined | null): boolean {
  return !userAgent || isbot(userAgent);
}
