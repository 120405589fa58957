/**
 * The console's built files (dist/console/, written by scripts/build-console.ts at `npm run
 * build`): read once into memory at start (a few hundred KB), answered with their content type
 * and an ETag. Any other path under /console is the single-page app's index.html, so a reload
 * on /console/topics/orders works.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * dist/console beside dist/server (this file is dist/server/console/static.js once built); run
 * from source (tests), ../../console is the unbuilt source, so dist/console of the repository.
 */
export function defaultConsoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = resolve(here, '../../console');
  return existsSync(join(beside, 'app.js')) ? beside : resolve(here, '../../dist/console');
}

export class ConsoleFiles {
  private readonly files = new Map<string, StaticFile>();

  constructor(dir: string) {
    if (!existsSync(join(dir, 'index.html'))) return;
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      const body = readFileSync(join(dir, name));
      this.files.set(name, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
    }
  }

  /** False when the console was not built (the broker answers 404 with a hint). */
  get built(): boolean {
    return this.files.has('index.html');
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const name = path.replace(/^\/console\/?/, '');
    const file = this.files.get(name) ?? this.files.get('index.html');
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('The console is not built: run npm run build\n');
      return;
    }
    // index.html names the bundle by hash-free name, so it must be revalidated; ETags keep that cheap.
    const headers = { 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }
}
