// POST /api/sites/:site/hits: server-side pageviews (backfill or visits seen server-side),
// same rules as the script's. The whole batch is checked before anything is written.
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../../context.js';
import { badRequest } from '../../errors.js';
import { serverBot, throwIfError } from '../../public-ingest.js';
import { serverHit, type HitInput } from '../../schemas/hit.js';
import { parseTs } from '../../time.js';
import { sameSite, siteScope } from './scope.js';

const body = {
  type: 'object',
  required: ['hits'],
  additionalProperties: false,
  properties: { hits: { type: 'array', minItems: 1, maxItems: 1000, items: serverHit } },
} as const;

export function hitRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.post('/api/sites/:site/hits', { schema: { body }, bodyLimit: 4 * 1024 * 1024 }, async (request, reply) => {
      const site = request.site!;
      const now = ctx.now();
      const hits = (request.body as { hits: HitInput[] }).hits.map((h, i) => {
        if (!/^https?:\/\//i.test(h.url)) throw badRequest(`hits[${i}].url must be an http(s) URL`);
        sameSite(site, h.site, `hits[${i}].site`);
        const ts = h.ts === undefined ? now : parseTs(h.ts, now);
        if (typeof ts === 'string') throw badRequest(`hits[${i}].ts ${ts}`);
        return { h, ts, i };
      });
      // In time order, so the 30-minute visit rule sees a backfill as it happened.
      hits.sort((a, b) => a.ts - b.ts || a.i - b.i);
      // A server may omit the user agent (a browser always sends one): then it is no bot.
      const answer = await ctx.ingest.run({ kind: 'hits', site, hits: hits.map(({ h, ts }) => ({ hit: h, ts, bot: serverBot(h.ua) })) });
      throwIfError(answer);
      return reply.code(202).send({ accepted: answer.accepted });
    });
  });
}
