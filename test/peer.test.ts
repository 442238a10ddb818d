/**
 * Optional peer dependencies (lib/peer.ts; README "Optional packages").
 *
 * Proves: in a process where none of the six optional packages resolves,
 * the package still loads and encrypts, and each feature that needs one
 * fails with the same code, ERR_BACKEND, naming its package and the
 * `npm install` command; a package that loads but lacks what the feature
 * uses is ERR_BACKEND too, saying what it lacks.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, test } from 'vitest';

import { root, TEST_BUILD_ARGS } from './tessera';

const PEERS = ['pg', 'pkcs11js', '@aws-sdk/client-kms', 'prom-client', '@opentelemetry/api', 'better-sqlite3-multiple-ciphers'];

function inChild(body: string): Record<string, { code: string; message: string }> {
  const script = `
    const M = require('node:module');
    const resolve = M._resolveFilename;
    const missing = new Set(${JSON.stringify(PEERS)});
    M._resolveFilename = function (r, ...a) {
      if (missing.has(r)) throw Object.assign(new Error("Cannot find module '" + r + "'"), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, r, ...a);
    };
    const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
    const metrics = require(${JSON.stringify(path.join(root, 'dist/cjs/metrics/index.js'))});
    const sqlcipher = require(${JSON.stringify(path.join(root, 'dist/cjs/sqlcipher/index.js'))});
    const out = {};
    const grab = async (name, fn) => { try { await fn(); out[name] = { code: 'none', message: '' }; } catch (e) { out[name] = { code: e.code, message: e.message }; } };
    (async () => { ${body}; console.log(JSON.stringify(out)); })();`;
  const r = spawnSync(process.execPath, [...TEST_BUILD_ARGS, '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Record<string, { code: string; message: string }>;
}

test('none of the optional packages installed: the engine works, and every feature that needs one is ERR_BACKEND naming it', () => {
  const out = inChild(`
    const key = T.AeadKey.generate('aes-256-gcm');
    out.engine = { code: Buffer.from(key.open(key.seal(Buffer.from('ok')))).toString(), message: '' };
    await grab('pg', () => new T.PostgresKeyStore({ connectionString: 'postgres://127.0.0.1:1/x' }).load());
    await grab('pkcs11js', () => T.Pkcs11Provider.open({ module: '/nonexistent.so', tokenLabel: 't', pin: '1' }));
    await grab('@aws-sdk/client-kms', () => T.kek.awsKms({ client: { send() {} }, keyId: 'alias/x' }));
    await grab('prom-client', () => metrics.bindPrometheus());
    await grab('@opentelemetry/api', () => metrics.bindOpenTelemetry());
    const ring = await T.Keyring.open(new T.FileKeyStore(require('node:path').join(require('node:os').tmpdir(), 'tessera-peer-' + process.pid + '.json')), { kek: T.kek.fromKey(Buffer.alloc(32, 7)) });
    await grab('better-sqlite3-multiple-ciphers', () => sqlcipher.openDatabase(require('node:path').join(require('node:os').tmpdir(), 'tessera-peer-' + process.pid + '.db'), ring, 'db'));
    await ring.close();
    for (const ext of ['.json', '.json.bak', '.db']) require('node:fs').rmSync(require('node:path').join(require('node:os').tmpdir(), 'tessera-peer-' + process.pid + ext), { force: true });`);
  expect(out.engine!.code).toBe('ok');
  for (const pkg of PEERS) {
    expect(out[pkg], pkg).toMatchObject({ code: 'ERR_BACKEND' });
    expect(out[pkg]!.message, pkg).toContain(`needs the \`${pkg}\` package, which is not installed: npm install ${pkg}`);
  }
});

test('a package that loads but lacks what the feature uses: ERR_BACKEND saying what is missing', () => {
  const out = inChild(`
    M._resolveFilename = resolve;
    const Module = require('node:module');
    const orig = Module._load;
    Module._load = function (r, ...a) { return r === 'prom-client' ? {} : orig.call(this, r, ...a); };
    await grab('prom-client', () => metrics.bindPrometheus());`);
  expect(out['prom-client']).toEqual({
    code: 'ERR_BACKEND',
    message: 'bindPrometheus: the installed `prom-client` package has no Gauge (npm install prom-client)',
  });
});
