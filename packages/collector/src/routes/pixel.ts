// GET /p.gif: the confirmation-page pixel. Always a GIF; on bad input status 400 and the
// reason in X-Linktrail-Error. The visitor is the lt_vid cookie, else vid/cid params.
// HEAD /p.gif answers the GIF's headers and stores nothing (head.ts).
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../context.js';
import { sendGif } from '../gif.js';
import type { PixelQuery } from '../public-ingest.js';
import { amount, slug } from '../schemas/common.js';
import { conversionFields } from '../schemas/conversion.js';
import { sendVid } from '../visitor-cookie.js';
import { clientOf } from './collect.js';
import { getPixel } from './head.js';

const { items: _items, ...fields } = conversionFields;

const pixelQuery = {
  type: 'object',
  required: ['site', 'order'],
  properties: {
    ...fields,
    site: slug,
    value: { ...amount, type: 'string' },
    item: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 200 } },
  },
} as const;

export function pixelRoutes(app: FastifyInstance, ctx: Ctx): void {
  const options = { ...ctx.limits.publicRoute({ gif: true }), schema: { querystring: pixelQuery }, attachValidation: true };
  getPixel(app, '/p.gif', options, async (request, reply) => {
    if (request.validationError) return sendGif(reply, 400, request.validationError.message);
    const query = request.query as PixelQuery;
    const answer = await ctx.ingest.run({ kind: 'pixel', query, client: clientOf(request), now: ctx.now() });
    if (answer.error) return sendGif(reply, 400, answer.error.message);
    if (answer.cookie) sendVid(request, reply, answer.cookie);
    return sendGif(reply);
  });
}
