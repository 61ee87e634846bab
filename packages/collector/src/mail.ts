// Welcome emails. With LINKTRAIL_SMTP_URL they go through nodemailer (which encodes headers
// safely, loaded on the first email: 15 MB a collector without SMTP never needs); without
// it they are written to the log, so a demo needs no mail server.
import type { FastifyBaseLogger } from 'fastify';

export interface Message {
  to: string;
  subject: string;
  text: string;
}

export type Mailer = (message: Message) => Promise<'sent' | 'logged' | 'failed'>;

/** The longest a welcome email may wait on the mail server: to connect, to be greeted, in silence. */
export const MAIL_TIMEOUT_MS = 10_000;

export function createMailer(options: { smtpUrl: string | null; from: string; log: FastifyBaseLogger }): Mailer {
  const { smtpUrl, from, log } = options;
  if (!smtpUrl) {
    return async (m) => {
      log.info({ mail: { from, ...m } }, `email (LINKTRAIL_SMTP_URL unset, not sent) to ${m.to}: ${m.subject}\n${m.text}`);
      return 'logged';
    };
  }
  let transport: Promise<import('nodemailer').Transporter> | null = null;
  return async (m) => {
    try {
      // Bounded waits (nodemailer's own: 2 min to connect, 10 min of a silent socket): the
      // invite that sends it answers within them, with email: 'failed' past them.
      transport ??= import('nodemailer').then(({ default: nodemailer }) =>
        nodemailer.createTransport({ url: smtpUrl, connectionTimeout: MAIL_TIMEOUT_MS, greetingTimeout: MAIL_TIMEOUT_MS, socketTimeout: MAIL_TIMEOUT_MS }),
      );
      await (await transport).sendMail({ from, to: m.to, subject: m.subject, text: m.text });
      return 'sent';
    } catch (error) {
      log.error({ err: error, to: m.to }, 'welcome email failed');
      return 'failed';
    }
  };
}

export function welcomeMessage(p: { name: string; siteName: string; link: string; shortlink: string; accessLink: string }): Omit<Message, 'to'> {
  return {
    subject: `Your ticket link for ${p.siteName}`,
    text: [
      `Hi ${p.name},`,
      '',
      `You are a promoter for ${p.siteName}. Share this link; every ticket sold through it is credited to you:`,
      '',
      `  ${p.shortlink}`,
      `  (long form: ${p.link})`,
      '',
      'See your clicks and sales, and make links for your other channels, here (keep it private, it is your key):',
      '',
      `  ${p.accessLink}`,
      '',
      '— sent by linktrail',
    ].join('\n'),
  };
}
