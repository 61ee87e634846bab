export const warn = (...a: unknown[]): void => console.warn('linktrail:', ...a);
