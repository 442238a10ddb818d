/**
 * A private PostgreSQL server for tests: a real server from Debian's
 * packages on a loopback port with a temporary data directory (installed
 * by the test setup when missing and possible), stopped afterwards.
 *
 * startPostgres(): finds the binaries (/usr/lib/postgresql/<v>/bin, or
 * `pg_config --bindir`); when missing and running as root installs the
 * `postgresql` package with apt-get, otherwise throws (the suite fails, it
 * is never skipped). Then initdb into a fresh temporary directory (scram
 * password auth over TCP, superuser `postgres` with a random password),
 * and starts the server with pg_ctl on a free 127.0.0.1 port, its Unix
 * socket in the temporary directory (-k), fsync left on. PostgreSQL refuses
 * to run as root: as root, the directory is given to the `postgres` system
 * user (created by the package) and every server command runs through
 * `runuser -u postgres --` (or `su postgres -s /bin/sh -c`).
 *
 * stop(): `pg_ctl stop -m fast` and removes the directory; also done
 * (immediate mode) by a process 'exit' hook if the suite dies first.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PgServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  dir: string;
  stop(): Promise<void>;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function findBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return path.join(base, versions[0]!, 'bin');
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  return undefined;
}

function ensureBinaries(): string {
  let bin = findBinDir();
  if (bin) return bin;
  if (!isRoot)
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found and not running as root: install the `postgresql` package (apt-get install postgresql)',
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { env, encoding: 'utf8' });
  }
  bin = findBinDir();
  if (!bin) throw new Error(`apt-get install postgresql failed (status ${r.status}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
  return bin;
}

/** The uid/gid of the `postgres` system user. */
function postgresUser(): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no `postgres` system user to run the server as (the postgresql package creates it)');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a server binary: directly, or as `postgres` when we are root. */
function run(cmd: string, args: string[], timeoutMs = 60_000): void {
  let file = cmd;
  let argv = args;
  if (isRoot) {
    if (fs.existsSync('/usr/sbin/runuser') || fs.existsSync('/sbin/runuser')) {
      file = 'runuser';
      argv = ['-u', 'postgres', '--', cmd, ...args];
    } else {
      file = 'su';
      argv = ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shq).join(' ')];
    }
  }
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout: timeoutMs, cwd: '/', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
  if (r.status !== 0) {
    throw new Error(
      `${path.basename(cmd)} ${args.join(' ')} failed (status ${r.status}${r.signal ? `, signal ${r.signal}` : ''}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PgServer> {
  const bin = ensureBinaries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const pwfile = path.join(dir, 'pw');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot) {
    const { uid, gid } = postgresUser();
    fs.chownSync(dir, uid, gid);
    fs.chownSync(pwfile, uid, gid);
  }
  const pgCtl = path.join(bin, 'pg_ctl');
  let started = false;
  const stopSync = (mode: 'fast' | 'immediate') => {
    if (started) {
      try {
        run(pgCtl, ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'], 40_000);
      } catch {
        /* already gone */
      }
      started = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onExit = () => stopSync('immediate');
  process.once('exit', onExit);
  try {
    run(path.join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    fs.rmSync(pwfile);
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=16MB`;
      try {
        run(pgCtl, ['-D', data, '-l', log, '-o', opts, '-w', '-t', '30', 'start'], 40_000);
        started = true;
        break;
      } catch (e) {
        const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
        // The port was taken between freePort() and the bind: try another.
        if (attempt < 2 && /already in use/i.test(tail)) continue;
        started = true; // make stopSync try pg_ctl stop in case it half-started
        throw new Error(`${(e as Error).message}\nserver log:\n${tail}`, { cause: e });
      }
    }
    const host = '127.0.0.1';
    return {
      host,
      port,
      user: 'postgres',
      password,
      dir,
      url: (database = 'postgres') => `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/${database}`,
      stop: async () => {
        process.removeListener('exit', onExit);
        stopSync('fast');
      },
    };
  } catch (e) {
    process.removeListener('exit', onExit);
    stopSync('immediate');
    throw e;
  }
}
