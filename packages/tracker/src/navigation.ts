/** How the page was reached, as Navigation Timing names it. */
export type Nav = 'navigate' | 'reload' | 'back_forward' | 'prerender';

/**
 * This document's navigation entry (an empty one in browsers or tests without it): its `name`,
 * the address the page loaded at, and its `type`, how it was reached ('navigate', 'reload',
 * 'back_forward', 'prerender'), which the collector reads to tell a replay from an arrival.
 */
export const navEntry = (): { name?: string; type?: Nav } => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined) || {};
