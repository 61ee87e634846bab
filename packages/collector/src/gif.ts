import type { FastifyReply } from 'fastify';

/** The classic 1×1 transparent GIF: 43 bytes. */
export const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

/** Pixels always answer an image, so a broken order page never shows a broken image icon. */
export function sendGif(reply: FastifyReply, status = 200, reason?: string) {
  reply.code(status).header('content-type', 'image/gif').header('cache-control', 'no-store, max-age=0');
  if (reason) reply.header('x-linktrail-error', reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 300));
  return reply.send(GIF);
}
