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
      transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(smtpUrl));
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
