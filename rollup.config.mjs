// Builds @linktrail/tracker from one TypeScript source:
//   dist/lt.js     the script tag (IIFE, minified by terser; its gzip size is budgeted in a test)
//   dist/index.mjs the ESM package with type declarations (classify and friends)
import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import { fileURLToPath } from 'node:url';

const pkg = (p) => fileURLToPath(new URL(`packages/tracker/${p}`, import.meta.url));
const tsconfig = pkg('tsconfig.json');

export default [
  {
    input: pkg('src/lt.ts'),
    output: { file: pkg('dist/lt.js'), format: 'iife', strict: false },
    plugins: [
      typescript({ tsconfig, declaration: false, declarationDir: undefined, outDir: pkg('dist') }),
      terser({
        ecma: 2018,
        compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
        mangle: { properties: { regex: /^_/ } },
        format: { comments: false },
      }),
    ],
  },
  {
    input: pkg('src/index.ts'),
    output: { file: pkg('dist/index.mjs'), format: 'es' },
    plugins: [typescript({ tsconfig, outDir: pkg('dist'), declarationDir: pkg('dist') })],
  },
];
