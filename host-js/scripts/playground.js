// Builds the playground (examples/playground/playground.js with CodeMirror, a dev dependency)
// into examples/playground/dist/ with esbuild, then serves the package over HTTP:
//
//   node scripts/playground.js [PORT]     then open http://127.0.0.1:PORT/examples/playground/
//
// The package itself is not bundled: the playground imports it from /src/browser/index.js, as
// served, so that it loads the component as any page does.

import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

import { serve } from './serve.js';

/** Bundles the playground; resolves once dist/playground.js is written. */
export async function buildPlayground() {
  const dir = fileURLToPath(new URL('../examples/playground/', import.meta.url));
  await esbuild.build({
    entryPoints: [`${dir}playground.js`],
    bundle: true,
    format: 'esm',
    outfile: `${dir}dist/playground.js`,
    external: ['/src/*'],
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPlayground();
  const { url } = await serve(Number(process.argv[2] ?? 8080));
  console.log(`cu playground: ${url}/examples/playground/`);
}
