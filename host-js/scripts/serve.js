// Serves the package directory over HTTP on 127.0.0.1, for the playground and the browser
// tests: ES modules and WebAssembly must come from a server, not from file:// URLs.
//
//   node scripts/serve.js [PORT]     then open http://127.0.0.1:PORT/examples/playground/

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.lua': 'text/plain; charset=utf-8',
};

/** The file under `root` that `url` names (`/dir/` is `/dir/index.html`), or undefined outside it. */
function fileFor(root, url) {
  const path = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : undefined;
}

/**
 * Starts serving `root` (default: the package) on 127.0.0.1:`port` (0: any free port); resolves
 * to the server and its URL.
 */
export function serve(port = 0, root = ROOT) {
  const server = createServer(async (req, res) => {
    const file = fileFor(root, req.url);
    const found = file && (await stat(file).catch(() => undefined));
    if (!found?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await serve(Number(process.argv[2] ?? 8080));
  console.log(`serving ${ROOT} at ${url}/ — the playground is ${url}/examples/playground/ (Ctrl-C stops)`);
}
