/**
 * A tiny read-only static server for the browser suite (test/browser.test.ts),
 * bound to 127.0.0.1 on an ephemeral port. It serves, under the same paths
 * as in the package, so that dist/browser/browser/index.js finds
 * ../../../wasm/*.wasm by URL:
 *   /dist/browser/...      the browser build (plain ES modules)
 *   /wasm/*.wasm           the modules (Content-Type application/wasm)
 *   /test/browser/pages/   the test and demo pages
 *   /vectors/...           the shared vectors directory (../shared/vectors)
 *   /fixtures/<name>       bytes the Node side registered (setFixture)
 * GET and HEAD only; anything outside those roots (.., encoded .., NUL,
 * backslashes, symlinks leading out) is refused. Every request path is
 * recorded (requests) so that a test can see which module a page fetched.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  /** http://127.0.0.1:<port> (no trailing slash). */
  readonly origin: string;
  /** Decoded paths of every request, in arrival order. */
  readonly requests: string[];
  /** Serves bytes at /fixtures/<name> (application/octet-stream). */
  setFixture(name: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

interface Mount {
  prefix: string; // URL prefix, ends with '/'
  dir: string; // real path of the directory it maps to
  only?: RegExp; // allowed file names below it
}

/** `root` is the package root, `vectorsDir` the shared vectors directory. */
export async function startServer(root: string, vectorsDir: string): Promise<StaticServer> {
  const real = (p: string) => fs.realpathSync(p);
  const mounts: Mount[] = [
    { prefix: '/dist/browser/', dir: real(path.join(root, 'dist', 'browser')) },
    { prefix: '/wasm/', dir: real(path.join(root, 'wasm')), only: /^[\w.-]+\.wasm$/ },
    { prefix: '/test/browser/pages/', dir: real(path.join(root, 'test', 'browser', 'pages')) },
    { prefix: '/vectors/', dir: real(vectorsDir) },
  ];
  const fixtures = new Map<string, Uint8Array>();
  const requests: string[] = [];

  const send = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  };

  /** The file a URL path names, or a status code to refuse it with. */
  const lookup = (urlPath: string): string | number => {
    // Refuse rather than normalise: no segment may be '.' or '..' (also
    // after percent-decoding), no backslash, no NUL, no empty segment.
    const segs = urlPath.split('/').slice(1);
    if (segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) return 403;
    const m = mounts.find((x) => urlPath.startsWith(x.prefix));
    if (!m) return 404;
    const rel = urlPath.slice(m.prefix.length);
    if (m.only && !m.only.test(rel)) return 404;
    let file: string;
    try {
      file = fs.realpathSync(path.join(m.dir, ...rel.split('/')));
    } catch {
      return 404;
    }
    // A symlink must not lead out of the mount either.
    if (!file.startsWith(m.dir + path.sep)) return 403;
    return fs.statSync(file).isFile() ? file : 404;
  };

  const server = http.createServer((req, res) => {
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(res, 400, 'bad request');
    }
    // The raw target too: new URL() resolves '..' before we see it.
    const raw = (req.url ?? '').split('?')[0]!;
    requests.push(urlPath);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'read-only');
    }
    if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(raw) || /%2f|%5c|%00/i.test(raw)) return send(res, 403, 'forbidden');

    let body: Uint8Array | undefined;
    let type = 'application/octet-stream';
    let file: string | undefined;
    if (urlPath.startsWith('/fixtures/')) {
      body = fixtures.get(urlPath.slice('/fixtures/'.length));
      if (!body) return send(res, 404, 'not found');
    } else {
      const f = lookup(urlPath);
      if (typeof f === 'number') return send(res, f, f === 403 ? 'forbidden' : 'not found');
      file = f;
      type = TYPES[path.extname(f).toLowerCase()] ?? 'application/octet-stream';
    }
    const size = body ? body.length : fs.statSync(file!).size;
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': size,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    if (body) return res.end(body);
    fs.createReadStream(file!).on('error', () => res.destroy()).pipe(res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    setFixture(name, bytes) {
      if (!/^[\w.-]+$/.test(name)) throw new Error(`bad fixture name ${name}`);
      fixtures.set(name, bytes);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
