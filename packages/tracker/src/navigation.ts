/** How this page was reached when it is a reload or a back/forward step. */
export type Nav = 'reload' | 'back_forward';

export const navType = (): Nav | undefined => {
  const e = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  // Of 'navigate', 'reload', 'back_forward' and 'prerender', only the two we want start with r or b.
  return e && /^[rb]/.test(e.type) ? (e.type as Nav) : undefined;
};
