/**
 * Builds the web console (console/, docs/console.md) into dist/console/: esbuild bundles
 * console/main.tsx (Preact) into one minified app.js; index.html and style.css are copied.
 * Part of `npm run build`, after tsc has type-checked console/ (console/tsconfig.json).
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/scripts/build-console.js; the sources are at the repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = join(root, 'dist/console');
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'console/main.tsx')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
  metafile: true,
});
for (const name of ['index.html', 'style.css']) copyFileSync(join(root, 'console', name), join(out, name));
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
process.stdout.write(`console built: dist/console (${Math.round(bytes / 1024)} KiB with the source map)\n`);
