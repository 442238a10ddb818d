/**
 * The browser the browser suite drives: Debian's chromium package. When it
 * is missing and this process is root, it is installed with apt-get
 * (noninteractive; `apt-get update` and a retry if the first install
 * fails). Otherwise ensureChromium() throws an Error that says why and what
 * to run, so the suite fails (it does not skip).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

const INSTALL = 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium';

function apt(args: string[]): { ok: boolean; detail: string } {
  const r = spawnSync('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    timeout: 15 * 60_000,
    maxBuffer: 64 << 20,
  });
  if (r.error) return { ok: false, detail: `apt-get ${args.join(' ')}: ${r.error.message}` };
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
  return { ok: r.status === 0, detail: `apt-get ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${tail}` };
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Returns the chromium executable path, installing the package first if
 * needed and possible. (`exe` and `root` are parameters for the suite's own
 * test of the failure message.)
 */
export function ensureChromium(exe = CHROMIUM, root = isRoot()): string {
  if (fs.existsSync(exe)) return exe;
  if (!root) {
    throw new Error(
      `browser tests need ${exe} (Debian package chromium), which is missing, and this process is not root so it cannot install it. Run as root: ${INSTALL}`,
    );
  }
  let r = apt(['install', '-y', 'chromium']);
  if (!r.ok) {
    const u = apt(['update']);
    r = u.ok ? apt(['install', '-y', 'chromium']) : u;
  }
  if (!fs.existsSync(exe)) {
    throw new Error(
      `browser tests need ${exe}; installing the Debian package chromium failed (${r.ok ? `apt-get succeeded but ${exe} is still missing` : r.detail}). Run: ${INSTALL}`,
    );
  }
  return exe;
}
