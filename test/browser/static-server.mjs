/**
 * A tiny read-only static server bound to 127.0.0.1 on an ephemeral port,
 * shared by the browser suite (test/browser/server.ts, for
 * test/browser.test.ts) and the Chromium half of the wasm benchmark
 * (bench/wasm-browser.mjs). A plain ES module with JSDoc types (declarations
 * in static-server.d.mts) so that both vitest and a plain `node` bench script
 * can import it.
 *
 * It serves files below the mounts it is given ({ prefix, dir, only? }: URL
 * prefix ending in '/', the directory it maps to, and optionally a pattern
 * the path below the prefix must match), and, when `fixtures` names a URL
 * prefix, bytes the Node side registered with setFixture. GET and HEAD only;
 * anything outside the mounts (.., encoded .., NUL, backslashes, symlinks
 * leading out) is refused. Every request path is recorded (requests) so that
 * a test can see which module a page fetched.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

/** @type {Readonly<Record<string, string>>} */
const TYPES = {
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

/**
 * @param {import('./static-server.mjs').StaticServerOptions} options
 * @returns {Promise<import('./static-server.mjs').StaticServer>}
 */
export async function startStaticServer({ mounts: given, fixtures: fixturePrefix }) {
  // Real paths, so that the containment check below compares like with like.
  const mounts = given.map((m) => ({ ...m, dir: fs.realpathSync(m.dir) }));
  /** @type {Map<string, Uint8Array>} */
  const fixtures = new Map();
  /** @type {string[]} */
  const requests = [];

  /** @param {http.ServerResponse} res @param {number} status @param {string} body */
  const send = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  };

  /**
   * The file a URL path names, or a status code to refuse it with.
   * @param {string} urlPath
   * @returns {string | number}
   */
  const lookup = (urlPath) => {
    // Refuse rather than normalise: no segment may be '.' or '..' (also
    // after percent-decoding), no backslash, no NUL, no empty segment.
    const segs = urlPath.split('/').slice(1);
    if (segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) return 403;
    const m = mounts.find((x) => urlPath.startsWith(x.prefix));
    if (!m) return 404;
    const rel = urlPath.slice(m.prefix.length);
    if (m.only && !m.only.test(rel)) return 404;
    let file;
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
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(res, 400, 'bad request');
    }
    // The raw target too: new URL() resolves '..' before we see it.
    const raw = (req.url ?? '').split('?')[0];
    requests.push(urlPath);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'read-only');
    }
    if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(raw) || /%2f|%5c|%00/i.test(raw)) return send(res, 403, 'forbidden');

    /** @type {Uint8Array | undefined} */
    let body;
    let type = 'application/octet-stream';
    /** @type {string | undefined} */
    let file;
    if (fixturePrefix !== undefined && urlPath.startsWith(fixturePrefix)) {
      body = fixtures.get(urlPath.slice(fixturePrefix.length));
      if (!body) return send(res, 404, 'not found');
    } else {
      const f = lookup(urlPath);
      if (typeof f === 'number') return send(res, f, f === 403 ? 'forbidden' : 'not found');
      file = f;
      type = TYPES[path.extname(f).toLowerCase()] ?? 'application/octet-stream';
    }
    const size = body ? body.length : fs.statSync(/** @type {string} */ (file)).size;
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': size,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    if (body) return res.end(body);
    fs.createReadStream(/** @type {string} */ (file))
      .on('error', () => res.destroy())
      .pipe(res);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    setFixture(name, bytes) {
      if (fixturePrefix === undefined) throw new Error('this server has no fixtures prefix');
      if (!/^[\w.-]+$/.test(name)) throw new Error(`bad fixture name ${name}`);
      fixtures.set(name, bytes);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
