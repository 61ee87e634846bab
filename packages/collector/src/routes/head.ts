// Fastify answers HEAD with each GET's own handler (exposeHeadRoutes), so a HEAD of a pixel
// stored its conversion or hit. A HEAD is safe (RFC 9110 §9.3.2), and link checkers, mail
// scanners and prefetchers send them: a pixel's HEAD stores nothing.
import type { FastifyInstance, RouteHandlerMethod, RouteShorthandOptions } from 'fastify';
import { sendGif } from '../gif.js';

/**
 * Registers a GET pixel (`options` with `attachValidation`) and its HEAD apart: the HEAD
 * answers the GIF's headers (400 with the reason for a query the GET's schema refuses),
 * and the GET's own path carries no hook for it.
 */
export function getPixel(app: FastifyInstance, url: string, options: RouteShorthandOptions, handler: RouteHandlerMethod): void {
  app.get(url, { ...options, exposeHeadRoute: false }, handler);
  app.head(url, options, async (request, reply) => (request.validationError ? sendGif(reply, 400, request.validationError.message) : sendGif(reply)));
}
