// GET /p.gif: the confirmation-page pixel. Always a GIF; on bad input status 400 and the
// reason in X-Linktrail-Error. The visitor is the lt_vid cookie, else vid/cid params.
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../context.js';
import { normalizeConversion, PIXEL_ITEMS, recordConversion } from '../conversions.js';
import { HttpError } from '../errors.js';
import { gpcOptOut } from '../gpc.js';
import { sendGif } from '../gif.js';
import { parseItems } from '../items.js';
import { amount, slug } from '../schemas/common.js';
import { conversionFields } from '../schemas/conversion.js';
import { readVid, writeVid } from '../visitor-cookie.js';

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

interface PixelQuery {
  site: string;
  order: string;
  value?: string;
  currency?: string;
  event?: string;
  type?: string;
  tickets?: number;
  customer?: string;
  vid?: string;
  cid?: string;
  sig?: string;
  item?: string[];
}

export function pixelRoutes(app: FastifyInstance, ctx: Ctx): void {
  const options = { ...ctx.limits.publicRoute({ gif: true }), schema: { querystring: pixelQuery }, attachValidation: true };
  app.get('/p.gif', options, async (request, reply) => {
    if (request.validationError) return sendGif(reply, 400, request.validationError.message);
    const q = request.query as PixelQuery;
    try {
      const site = await ctx.sites.get(q.site);
      if (!site) throw new HttpError(404, 'unknown_site', `site ${q.site} is not registered`);
      if (gpcOptOut(site, request)) return sendGif(reply);
      const vid = readVid(request) ?? q.vid;
      const { item, site: _site, sig, ...rest } = q;
      const record = normalizeConversion(site, { ...rest, vid, items: parseItems(item ?? []) }, ctx.now(), PIXEL_ITEMS);
      await recordConversion(ctx.store, site, record, sig);
      if (vid) writeVid(request, reply, vid);
    } catch (error) {
      if (error instanceof HttpError && error.statusCode < 500) return sendGif(reply, 400, error.message);
      throw error;
    }
    return sendGif(reply);
  });
}
