import type { FastifyRequest } from 'fastify';
import type { Site } from './store.js';

/**
 * The visitor's browser sends Global Privacy Control (Sec-GPC: 1) and the site chose to honour
 * it: nothing about this request is stored, and the visitor still gets the usual answer.
 * Server-side calls (postbacks, server hits) are the organiser's own to filter.
 */
export const gpcOptOut = (site: Site, request: FastifyRequest): boolean => site.honorGpc && sendsGpc(request);

export const sendsGpc = (request: FastifyRequest): boolean => request.headers['sec-gpc'] === '1';
