// GET /promoter: the page a promoter's access link opens (token in the URL fragment).
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const PAGE = new URL('../../public/promoter.html', import.meta.url);

export function promoterPageRoutes(app: FastifyInstance): void {
  let html: Buffer | null = null;
  app.get('/promoter', async (_request, reply) => {
    html ??= readFileSync(PAGE);
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
      .send(html);
  });
}
