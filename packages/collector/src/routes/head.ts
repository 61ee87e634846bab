// Fastify answers HEAD with each GET's own handler (exposeHeadRoutes), so a HEAD of a pixel
// stored its conversion or hit. A HEAD is safe (RFC 9110 §9.3.2), and link checkers, mail
// scanners and prefetchers send them: a pixel's HEAD stores nothing.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendGif } from '../gif.js';

/**
 * Route options for a GET pixel with `attachValidation`: its HEAD answers the GIF's headers
 * (400 with the reason for a query the GET would refuse by its schema) before the handler runs.
 */
export const pixelHead = {
  async preHandler(request: FastifyRequest, reply: FastifyReply) {
    if (request.method !== 'HEAD') return;
    const invalid = request.validationError;
    return invalid ? sendGif(reply, 400, invalid.message) : sendGif(reply);
  },
};
