/**
 * The static server of the browser suite (test/browser.test.ts): the shared
 * read-only server (static-server.mjs, which has the rules: GET and HEAD
 * only, traversal and symlinks out of a mount refused, every request
 * recorded) with these mounts, under the same paths as in the package, so
 * that dist/browser/browser/index.js finds ../../../wasm/*.wasm by URL:
 *   /dist/browser/...      the browser build (plain ES modules)
 *   /wasm/*.wasm           the modules (Content-Type application/wasm)
 *   /test/browser/pages/   the test and demo pages
 *   /vectors/...           the vendored test vectors (test/vectors)
 *   /fixtures/<name>       bytes the Node side registered (setFixture)
 */
import * as path from 'node:path';
import { type StaticServer, startStaticServer } from './static-server.mjs';

export type { StaticServer };

/** `root` is the package root, `vectorsDir` the test vectors directory. */
export function startServer(root: string, vectorsDir: string): Promise<StaticServer> {
  return startStaticServer({
    mounts: [
      { prefix: '/dist/browser/', dir: path.join(root, 'dist', 'browser') },
      { prefix: '/wasm/', dir: path.join(root, 'wasm'), only: /^[\w.-]+\.wasm$/ },
      { prefix: '/test/browser/pages/', dir: path.join(root, 'test', 'browser', 'pages') },
      { prefix: '/vectors/', dir: vectorsDir },
    ],
    fixtures: '/fixtures/',
  });
}
