import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';

const BUDGET = 1500; // SPEC §9; the goal is 1,300
const file = fileURLToPath(new URL('../dist/lt.js', import.meta.url));

function built(): string {
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build -w @linktrail/tracker (npm test does)`);
  return readFileSync(file, 'utf8');
}

it('the built script tag stays within its gzip budget', () => {
  const source = built();
  const size = gzipSync(source, { level: 9 }).length;
  console.log(`lt.js: ${Buffer.byteLength(source)} B, ${size} B gzip -9 (budget ${BUDGET} B)`);
  expect(size).toBeLessThanOrEqual(BUDGET);
});

it('the built script tag leaves classification to the collector', () => {
  const source = built();
  for (const word of ['instagram', 'utm_', 'gclid', 'google']) expect(source).not.toContain(word);
});
