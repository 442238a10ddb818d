/**
 * A private SoftHSM2 token for tests, in a temporary directory through its
 * own SOFTHSM2_CONF (no root-owned state, works as non-root); softhsm2 is
 * installed when missing and possible, else the suite fails with the reason.
 *
 * createSoftHsm(): finds libsofthsm2.so and softhsm2-util; when missing and
 * running as root installs the `softhsm2` package with apt-get, otherwise
 * throws (the suite fails, it is never skipped). Writes a softhsm2.conf
 * (directories.tokendir = <tmp>/tokens, objectstore.backend = file) into a
 * fresh temporary directory, sets process.env.SOFTHSM2_CONF to it (SoftHSM
 * reads it at C_Initialize, so this must happen before any provider opens),
 * and initializes a token in the first free slot. remove() deletes the
 * directory (also done by a process 'exit' hook).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SoftHsm {
  module: string;
  dir: string;
  conf: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** Environment for child processes (SOFTHSM2_CONF set). */
  env: NodeJS.ProcessEnv;
  /** Another token in the same directory (label given). */
  initToken(label: string): void;
  remove(): void;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const MODULE_PATHS = [
  '/usr/lib/softhsm/libsofthsm2.so',
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/softhsm/libsofthsm2.so`,
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

function findModule(): string | undefined {
  return MODULE_PATHS.find((p) => fs.existsSync(p));
}

function hasUtil(): boolean {
  return spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).status === 0;
}

function ensureSoftHsm(): string {
  let mod = findModule();
  if (mod && hasUtil()) return mod;
  if (!isRoot)
    throw new Error(
      `SoftHSM2 not found (${MODULE_PATHS.join(', ')}; softhsm2-util) and not running as root: install the \`softhsm2\` package (apt-get install softhsm2)`,
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'softhsm2'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'softhsm2'], { env, encoding: 'utf8' });
  }
  mod = findModule();
  if (!mod || !hasUtil()) throw new Error(`apt-get install softhsm2 failed (status ${r.status}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
  return mod;
}

function util(env: NodeJS.ProcessEnv, args: string[]): string {
  const r = spawnSync('softhsm2-util', args, { env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0)
    throw new Error(`softhsm2-util ${args.filter((a, i) => !/pin$/.test(args[i - 1] ?? '')).join(' ')} failed (status ${r.status}): ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function createSoftHsm(tokenLabel = 'tessera-test'): SoftHsm {
  const module = ensureSoftHsm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens, { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const pin = `pin-${randomBytes(6).toString('hex')}`;
  const soPin = `so-${randomBytes(6).toString('hex')}`;
  const initToken = (label: string) => void util(env, ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin]);
  initToken(tokenLabel);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', remove);
  return { module, dir, conf, tokenLabel, pin, soPin, env, initToken, remove };
}
