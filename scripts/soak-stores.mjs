// Key stores under faults: a soak of FileKeyStore and PostgresKeyStore.
//
// What it proves (per store): a writer process that is SIGKILLed at random
// moments, including in the middle of a commit, never loses a key it
// acknowledged and never leaves a store that fails to reopen. A writer
// child (scripts/soak-stores-worker.mjs) opens a Keyring on the store (a
// local AES-KWP KEK, kek.fromKeyFile, from a key file this script writes)
// and loops: create a purpose or rotate one, then seal a message under the
// new key. After each acknowledged operation (the promise resolved, so the
// store's commit returned) it reports the key id, generation and the sealed
// message on its stdout, with writeSync, before doing anything else. The
// parent kills it with SIGKILL after a random delay (some kills while it is
// still starting, some at random, some aimed at a store.commit() in flight:
// the writer brackets every commit with markers), --kills times per store.
// After every kill a fresh verifier process reopens the keyring from the
// store (the document's MAC is checked and every key unwrapped, or the
// reopen fails) and checks that every key ever acknowledged is still there
// (same purpose, not destroyed), that every reported message decrypts to
// its plaintext, that every purpose has exactly one primary, and that the
// generation did not go back. It writes nothing to the store.
//
// PostgreSQL: a private server (initdb + pg_ctl on a loopback port in a
// temporary directory, the same way test/pg/server.ts starts one for the
// test suite; that file is TypeScript, so its steps are repeated here), run
// as the `postgres` user when we are root, fsync on. On top of the writer
// kills, --pg-restarts times the server itself is crashed while the
// writer's commit is in flight: alternately an immediate shutdown (SIGQUIT
// to the postmaster, what `pg_ctl stop -m immediate` sends) and a SIGKILL of
// the postmaster, then started again (crash recovery). The writer sees
// connection errors, reopens and continues; what it acknowledged must still
// be there afterwards.
//
// What it does not prove: these are process crashes, not power loss (the
// OS page cache survives them), so they do not test that fsync is called in
// the right places; nor concurrent writers (test/keystore.*.test.ts do).
//
// Run (from the repo root, on the built library: dist/cjs and
// build/Release/tessera.node; if dist/ is missing: `npm run build:ts`):
//   node scripts/soak-stores.mjs [--kills N] [--pg-restarts N] [--store file|pg|both] [--quick] [--keep]
// Defaults: 200 kills per store, 20 PostgreSQL restarts, both stores.
// --quick: 20 kills, 3 restarts. --keep: keep the temporary directory.
// The library is copied to the temporary directory first, so a rebuild of
// dist/ while the soak runs does not disturb it. PostgreSQL needs initdb /
// pg_ctl (/usr/lib/postgresql/<v>/bin or pg_config --bindir; the test
// suite's setup installs the `postgresql` package when missing).
// Exit status 0 only if no acknowledged key was lost, every reopen
// verified, and every writer fault was one the soak injected; 1 otherwise;
// 2 when the soak itself could not run.
//
// Not part of CI (npm test does not run it): a full run takes minutes, it
// starts, crashes and restarts a database server, and it is a fault soak,
// not a deterministic test (kill timings are random). Its result goes in
// the release note.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const workerFile = path.join(root, 'scripts', 'soak-stores-worker.mjs');

// ---- options ----

function usage(msg) {
  if (msg) console.error(`soak-stores: ${msg}`);
  console.error('usage: node scripts/soak-stores.mjs [--kills N] [--pg-restarts N] [--store file|pg|both] [--quick] [--keep]');
  process.exit(2);
}
const argv = process.argv.slice(2);
const opt = { kills: undefined, restarts: undefined, store: 'both', quick: false, keep: false };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  const int = (v) => {
    if (!/^\d+$/.test(v)) usage(`${a}: not a non-negative integer: ${v}`);
    return Number(v);
  };
  if (a === '--quick') opt.quick = true;
  else if (a === '--keep') opt.keep = true;
  else if (a.startsWith('--kills')) opt.kills = int(val());
  else if (a.startsWith('--pg-restarts')) opt.restarts = int(val());
  else if (a.startsWith('--store')) opt.store = val();
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (!['file', 'pg', 'both'].includes(opt.store)) usage('--store must be file, pg or both');
opt.kills ??= opt.quick ? 20 : 200;
if (opt.restarts === undefined) opt.restarts = Math.min(opt.quick ? 3 : 20, opt.kills);
if (opt.store !== 'file' && opt.restarts > opt.kills) usage('--pg-restarts cannot exceed --kills (each restart happens during one writer life)');

const rnd = (a, b) => a + Math.random() * (b - a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Sub-millisecond-accurate delay (busy wait below 20 ms; the child's output is read after the kill anyway). */
async function delay(ms) {
  if (ms >= 20) return sleep(ms);
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < end);
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// ---- the library, copied ----

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-soak-'));
let keepTmp = opt.keep;
const cleanups = [];
function cleanupSync() {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`\nsoak-stores: ${sig}, stopping`);
    process.exit(2);
  });
}

function snapshotLibrary() {
  const addon = path.join(root, 'build/Release/tessera.node');
  if (!fs.existsSync(path.join(root, 'dist/cjs/index.js'))) usage('dist/cjs is missing: build it first (export npm_config_nodedir=/usr; npm run build:ts)');
  if (!fs.existsSync(addon)) usage('build/Release/tessera.node is missing: build the addon first (npm run build:native)');
  const lib = path.join(tmp, 'lib');
  fs.mkdirSync(path.join(lib, 'build/Release'), { recursive: true });
  fs.cpSync(path.join(root, 'dist/cjs'), path.join(lib, 'dist/cjs'), { recursive: true });
  fs.copyFileSync(addon, path.join(lib, 'build/Release/tessera.node'));
  for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(lib, f));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(lib, 'node_modules'));
  // A copy taken while dist/ was being rebuilt would fail in every writer: check it loads first.
  const probe = `const T = require(${JSON.stringify(path.join(lib, 'dist/cjs/index.js'))}); for (const n of ['Keyring', 'FileKeyStore', 'PostgresKeyStore', 'kek', 'parseHeader']) if (!T[n]) throw new Error('no ' + n); T.AeadKey.generate('xaes-256-gcm');`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the copy of dist/cjs + build/Release does not load (was dist/ being rebuilt? run again): ${r.stderr.slice(-1500)}`);
  return lib;
}

// ---- PostgreSQL (the steps of test/pg/server.ts, plus crash + restart) ----

function findBinDir() {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return path.join(base, versions[0], 'bin');
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  throw new Error(
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install the `postgresql` package (the test suite's setup does: apt-get install postgresql)",
  );
}

const shq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
function asPostgres(cmd, args) {
  if (!isRoot) return [cmd, args];
  if (fs.existsSync('/usr/sbin/runuser') || fs.existsSync('/sbin/runuser')) return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  return ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shq).join(' ')]];
}
/** Runs a server binary (as `postgres` when we are root), without blocking the event loop. */
function runPg(cmd, args, timeoutMs = 60_000) {
  const [file, fargs] = asPostgres(cmd, args);
  return new Promise((resolve) => {
    const c = spawn(file, fargs, { cwd: '/', env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let outText = '';
    c.stdout.on('data', (d) => (outText += d));
    c.stderr.on('data', (d) => (outText += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, signal, out: outText });
    });
  });
}
function runPgSync(cmd, args, timeoutMs = 60_000) {
  const [file, fargs] = asPostgres(cmd, args);
  const r = spawnSync(file, fargs, { encoding: 'utf8', timeout: timeoutMs, cwd: '/', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (status ${r.status}): ${r.stdout}\n${r.stderr}`);
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address()); // a TCP listener: never a pipe name
      s.close(() => resolve(port));
    });
  });
}
const pidAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};

async function startPg() {
  const bin = findBinDir();
  const dir = path.join(tmp, 'pg');
  fs.mkdirSync(dir, { mode: 0o700 });
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const pwfile = path.join(dir, 'pw');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot) {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    if (!line) throw new Error('running as root but there is no `postgres` system user to run the server as (the postgresql package creates it)');
    const [, , uid, gid] = line.split(':').map(Number);
    fs.chmodSync(tmp, 0o755); // the postgres user must reach tmp/pg
    fs.chownSync(dir, uid, gid);
    fs.chownSync(pwfile, uid, gid);
  }
  const pgCtl = path.join(bin, 'pg_ctl');
  runPgSync(path.join(bin, 'initdb'), [
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
  let port;
  let opts = '';
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=16MB`;
    const r = await runPg(pgCtl, ['-D', data, '-l', log, '-o', opts, '-w', '-t', '30', 'start'], 40_000);
    if (r.ok) break;
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
    if (attempt < 2 && /already in use/i.test(tail)) continue;
    throw new Error(`pg_ctl start failed: ${r.out}\nserver log:\n${tail}`);
  }
  cleanups.push(() => runPgSync(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000));
  const postmasterPid = () => Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const version = spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  return {
    port,
    version,
    log,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    /** Crashes the server (immediate shutdown or SIGKILL of the postmaster), then starts it again (crash recovery). */
    async crash(mode) {
      const pid = postmasterPid();
      process.kill(pid, mode === 'sigkill' ? 'SIGKILL' : 'SIGQUIT');
      const t0 = Date.now();
      while (pidAlive(pid)) {
        if (Date.now() - t0 > 30_000) throw new Error(`postmaster ${pid} did not exit after ${mode}`);
        await sleep(5);
      }
      // After a SIGKILL, orphaned backends may still hold the shared memory for a moment: retry the start.
      for (let attempt = 0; ; attempt++) {
        const r = await runPg(pgCtl, ['-D', data, '-l', log, '-o', opts, '-w', '-t', '60', 'start'], 70_000);
        if (r.ok) return { downMs: Date.now() - t0, startAttempts: attempt + 1 };
        if (attempt >= 20) throw new Error(`pg_ctl start after ${mode} failed: ${r.out}\n${fs.readFileSync(log, 'utf8').slice(-2000)}`);
        await sleep(250);
      }
    },
  };
}

// ---- the writer and verifier processes ----

class Writer {
  constructor(cfg) {
    this.spawnedAt = Date.now();
    this.lines = [];
    this.acks = [];
    this.errs = [];
    this.ready = false;
    this.readyAt = 0;
    this.readyCount = 0;
    this.inCommit = false;
    this.inOp = false;
    this.commitsStarted = 0;
    this.commitsDone = 0;
    this.commitsFailed = 0;
    this.openfail = undefined;
    this.crash = undefined;
    this.killed = false;
    this.stderr = '';
    this.waiters = new Set();
    this.commitStartT = 0;
    this.commitMs = [];
    this.child = spawn(process.execPath, [workerFile], {
      env: { ...process.env, SOAK_CONFIG: JSON.stringify({ ...cfg, mode: 'write' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.#line(line);
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.closed = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  #line(line) {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      this.stderr = (this.stderr + `[stdout] ${line}\n`).slice(-4000);
      return;
    }
    const now = performance.now();
    switch (m.t) {
      case 'ready':
        this.ready = true;
        this.readyCount++;
        this.readyAt ||= Date.now();
        break;
      case 'begin':
        this.inOp = true;
        break;
      case 'c+':
        this.inCommit = true;
        this.commitsStarted++;
        this.commitStartT = now;
        this.commitGen = m.gen;
        break;
      case 'c-':
        this.inCommit = false;
        if (m.ok) {
          this.commitsDone++;
          this.commitMs.push(now - this.commitStartT);
        } else this.commitsFailed++;
        break;
      case 'ack':
        this.inOp = false;
        this.acks.push(m);
        break;
      case 'err':
        this.inOp = false;
        this.errs.push(m);
        break;
      case 'openfail':
        this.openfail = m;
        break;
      case 'crash':
        this.crash = m;
        break;
    }
    for (const w of this.waiters) w();
  }

  /** Resolves true once pred() holds (checked after every line), false after timeoutMs or when the child is gone. */
  waitFor(pred, timeoutMs) {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(v);
      };
      const check = () => pred() && done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
      this.closed.then(() => done(pred()));
    });
  }

  kill() {
    this.killed = true;
    this.child.kill('SIGKILL');
  }
}

function verify(cfg, acks) {
  const acksFile = path.join(tmp, 'acks.json');
  fs.writeFileSync(acksFile, JSON.stringify(acks));
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [workerFile], {
      env: { ...process.env, SOAK_CONFIG: JSON.stringify({ ...cfg, mode: 'verify', acks: acksFile }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let outText = '';
    let errText = '';
    c.stdout.on('data', (d) => (outText += d));
    c.stderr.on('data', (d) => (errText += d));
    const t0 = performance.now();
    c.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      try {
        resolve({ ...JSON.parse(outText.trim().split('\n').pop()), ms });
      } catch {
        resolve({
          ok: false,
          error: `verifier exited ${code ?? signal} without a result: ${(outText + errText).slice(-1500)}`,
          lost: [],
          badMessages: [],
          invariants: [],
          ms,
        });
      }
    });
  });
}

// ---- one store ----

const avg = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

async function soakStore(kind, cfg, pg) {
  const restarts = kind === 'pg' ? opt.restarts : 0;
  const restartAt = new Set();
  while (restartAt.size < restarts) restartAt.add(1 + Math.floor(Math.random() * (opt.kills - 1 || 1)));
  const s = {
    store: kind === 'pg' ? `PostgresKeyStore (${pg.version})` : 'FileKeyStore',
    kills: 0,
    killPlan: { startup: 0, random: 0, commit: 0 },
    diedIn: { startup: 0, commit: 0, op: 0, between: 0 },
    commitKillsLanded: 0,
    commitKillsRolledBack: 0,
    acked: 0,
    ackedCreate: 0,
    ackedRotate: 0,
    commitsStarted: 0,
    commitsDone: 0,
    lost: 0,
    lostDetail: [],
    badMessages: 0,
    badDetail: [],
    invariantViolations: 0,
    invariantDetail: [],
    genRollbacks: 0,
    reopenFailures: 0,
    reopenDetail: [],
    writerOpenFailures: 0,
    writerFatal: 0,
    writerDetail: [],
    writerTransientErrors: 0,
    writerReopens: 0,
    restarts: 0,
    restartModes: { immediate: 0, sigkill: 0 },
    restartsInCommit: 0,
    restartsFailedCommit: 0,
    restartsRecovered: 0,
    restartDownMs: [],
    finalKeys: 0,
    finalPurposes: 0,
    finalGeneration: 0,
    verifyMs: [],
    startupMs: [],
    commitMs: [],
    ms: 0,
  };
  const allAcks = [];
  let maxAckGen = 0;
  const t0 = performance.now();
  for (let i = 1; i <= opt.kills; i++) {
    const w = new Writer(cfg);
    const startupEst = s.startupMs.length ? avg(s.startupMs) : 300;
    const commitEst = s.commitMs.length ? avg(s.commitMs.slice(-200)) : 5;
    const doRestart = restartAt.has(i);
    let plan;
    if (doRestart) {
      // Crash the server while a commit of the writer is in flight, let the writer recover, then kill it.
      plan = 'restart';
      await w.waitFor(() => w.ready, 60_000);
      await sleep(rnd(10, 200));
      const inFlight = await w.waitFor(() => w.inCommit, 10_000);
      if (inFlight) await delay(rnd(0, commitEst));
      const mode = s.restarts % 2 === 0 ? 'immediate' : 'sigkill';
      const committing = w.inCommit;
      const acksBefore = w.acks.length;
      const errsBefore = w.errs.length;
      const readyBefore = w.readyCount;
      let r;
      try {
        r = await pg.crash(mode);
      } catch (e) {
        w.kill();
        throw e;
      }
      s.restarts++;
      s.restartModes[mode]++;
      s.restartDownMs.push(r.downMs);
      if (committing) s.restartsInCommit++;
      // The writer must notice (an operation fails), reopen, and acknowledge new operations.
      const recovered = await w.waitFor(() => w.readyCount > readyBefore && w.acks.length >= acksBefore + 3, 120_000);
      if (w.errs.length > errsBefore) s.restartsFailedCommit++;
      if (recovered) s.restartsRecovered++;
      else
        s.writerDetail.push(
          `kill ${i}: the writer did not recover within 120 s after PostgreSQL ${mode} restart (acks ${w.acks.length - acksBefore}, errors ${w.errs.length - errsBefore}, ready ${w.readyCount - readyBefore}): ${w.stderr.slice(-500)}`,
        );
      if (Math.random() < 0.5) {
        await w.waitFor(() => w.inCommit, 10_000);
        await delay(rnd(0, commitEst * 1.5));
      } else await sleep(rnd(0, 150));
    } else {
      const r = Math.random();
      plan = r < 0.1 ? 'startup' : r < 0.55 ? 'random' : 'commit';
      s.killPlan[plan]++;
      if (plan === 'startup') {
        await sleep(rnd(0, startupEst * 1.2));
      } else {
        await w.waitFor(() => w.ready || w.openfail !== undefined, 60_000);
        if (plan === 'random') await sleep(rnd(0, 250));
        else {
          await sleep(rnd(0, 100));
          await w.waitFor(() => w.inCommit, 10_000);
          await delay(rnd(0, commitEst * 1.5));
        }
      }
    }
    const exitedEarly = w.child.exitCode !== null || w.child.signalCode !== null;
    w.kill();
    const { signal } = await w.closed;
    s.kills++;
    if (w.readyAt) s.startupMs.push(w.readyAt - w.spawnedAt);
    s.commitMs.push(...w.commitMs);
    s.commitsStarted += w.commitsStarted;
    s.commitsDone += w.commitsDone;
    // Where the SIGKILL landed: everything the writer printed before it died has been read.
    if (!w.ready) s.diedIn.startup++;
    else if (w.inCommit) s.diedIn.commit++;
    else if (w.inOp) s.diedIn.op++;
    else s.diedIn.between++;
    if (w.openfail) {
      s.writerOpenFailures++;
      s.writerDetail.push(`kill ${i}: writer Keyring.open failed: ${w.openfail.code}: ${w.openfail.msg}`);
    }
    const fatal = w.errs.filter((e) => !(kind === 'pg' && ['ERR_IO', 'ERR_LOCKED'].includes(e.code)));
    s.writerTransientErrors += w.errs.length - fatal.length;
    s.writerReopens += Math.max(0, w.readyCount - 1);
    if (fatal.length || w.crash || (exitedEarly && !w.openfail && signal !== 'SIGKILL')) {
      s.writerFatal++;
      s.writerDetail.push(`kill ${i}: writer failed: ${JSON.stringify(fatal[0] ?? w.crash ?? { exited: true })} ${w.stderr.slice(-500)}`);
    }
    for (const a of w.acks) {
      allAcks.push({ id: a.id, purpose: a.purpose, op: a.op, gen: a.gen, msg: a.msg, pt: a.pt, kill: i });
      if (a.op === 'create') s.ackedCreate++;
      else s.ackedRotate++;
      maxAckGen = Math.max(maxAckGen, a.gen);
    }
    s.acked = allAcks.length;

    const v = await verify(cfg, allAcks);
    s.verifyMs.push(v.ms);
    if (v.error || (v.empty && allAcks.length)) {
      s.reopenFailures++;
      s.reopenDetail.push(
        `kill ${i} (${plan}, writer died ${!w.ready ? 'starting' : w.inCommit ? 'in store.commit()' : w.inOp ? 'in an operation' : 'between operations'}): ${v.error}`,
      );
      keepTmp = true;
    }
    if (v.lost?.length) {
      s.lost = Math.max(s.lost, v.lost.length);
      s.lostDetail.push(`after kill ${i}: ${v.lost.length} lost, e.g. ${JSON.stringify(v.lost.slice(0, 3))}`);
      keepTmp = true;
    }
    if (v.badMessages?.length) {
      s.badMessages = Math.max(s.badMessages, v.badMessages.length);
      s.badDetail.push(`after kill ${i}: ${JSON.stringify(v.badMessages.slice(0, 3))}`);
    }
    if (v.invariants?.length) {
      s.invariantViolations++;
      s.invariantDetail.push(`after kill ${i}: ${v.invariants.slice(0, 3).join('; ')}`);
    }
    if (!v.error && !v.empty && v.generation < maxAckGen) {
      s.genRollbacks++;
      s.lostDetail.push(`after kill ${i}: store generation ${v.generation} < acknowledged generation ${maxAckGen}`);
    }
    if (!v.error && w.ready && w.inCommit) {
      // The commit the kill interrupted: is its generation in the store (durable but never acknowledged) or not?
      if (v.generation >= w.commitGen) s.commitKillsLanded++;
      else s.commitKillsRolledBack++;
    }
    if (!v.error) {
      s.finalKeys = v.keys;
      s.finalPurposes = v.purposes;
      s.finalGeneration = v.generation;
    }
    if (i % 10 === 0 || i === opt.kills) {
      const ok = s.lost === 0 && s.reopenFailures === 0 && s.badMessages === 0;
      process.stderr.write(
        `  [${kind}] ${i}/${opt.kills} kills, ${s.acked} acked keys, ${s.finalKeys} keys in store (gen ${s.finalGeneration})` +
          `${kind === 'pg' ? `, ${s.restarts}/${restarts} restarts` : ''}, ${((performance.now() - t0) / 1000).toFixed(0)} s${ok ? '' : '  FAILURES'}\n`,
      );
    }
  }
  s.ms = performance.now() - t0;
  return s;
}

// ---- main ----

const fmt = (ms) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${((ms % 60_000) / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);

function report(s, kind) {
  const pass =
    s.lost === 0 &&
    s.genRollbacks === 0 &&
    s.badMessages === 0 &&
    s.reopenFailures === 0 &&
    s.invariantViolations === 0 &&
    s.writerOpenFailures === 0 &&
    s.writerFatal === 0 &&
    (kind !== 'pg' || s.restartsRecovered === s.restarts);
  const L = [];
  L.push(`${s.store}: ${pass ? 'PASS' : 'FAIL'}`);
  L.push(
    `  writer SIGKILLs           ${s.kills} (aimed: ${s.killPlan.startup} during startup, ${s.killPlan.random} at random, ${s.killPlan.commit} at a commit in flight${kind === 'pg' ? `, ${s.restarts} after a server restart` : ''})`,
  );
  L.push(
    `  where they landed         ${s.diedIn.commit} inside store.commit(), ${s.diedIn.op} inside an operation outside the commit, ${s.diedIn.between} between operations, ${s.diedIn.startup} before the keyring was open`,
  );
  L.push(
    `  interrupted commits       ${s.commitKillsLanded} had already made their generation durable (committed, never acknowledged), ${s.commitKillsRolledBack} left the previous generation`,
  );
  if (kind === 'pg') {
    L.push(
      `  PostgreSQL crashes        ${s.restarts} (${s.restartModes.immediate} immediate shutdown, ${s.restartModes.sigkill} SIGKILL of the postmaster), ${s.restartsInCommit} with the writer inside store.commit(), ${s.restartsFailedCommit} failed a writer operation; down ${avg(s.restartDownMs).toFixed(0)} ms on average; writer recovered ${s.restartsRecovered}/${s.restarts}`,
    );
    L.push(`  writer connection errors  ${s.writerTransientErrors} (reopened ${s.writerReopens} times)`);
  }
  L.push(`  commits                   ${s.commitsDone} returned of ${s.commitsStarted} started (mean ${avg(s.commitMs).toFixed(1)} ms)`);
  L.push(`  acknowledged keys         ${s.acked} (${s.ackedCreate} new purposes, ${s.ackedRotate} rotations), each with a message sealed under it`);
  L.push(`  store at the end          ${s.finalKeys} keys, ${s.finalPurposes} purposes, generation ${s.finalGeneration}`);
  L.push(`  lost acknowledged keys    ${s.lost}${s.genRollbacks ? ` (and ${s.genRollbacks} generation rollbacks)` : ''}`);
  L.push(`  undecryptable messages    ${s.badMessages}`);
  L.push(
    `  reopen failures           ${s.reopenFailures} of ${s.kills} reopens (verifier: MAC check + unwrap of every key; mean ${avg(s.verifyMs).toFixed(0)} ms)`,
  );
  L.push(
    `  writer open failures      ${s.writerOpenFailures}; unexpected writer errors ${s.writerFatal}; purposes without exactly one primary ${s.invariantViolations}`,
  );
  L.push(`  runtime                   ${fmt(s.ms)}`);
  for (const d of [...s.lostDetail, ...s.badDetail, ...s.reopenDetail, ...s.invariantDetail, ...s.writerDetail].slice(0, 12)) L.push(`  ! ${d}`);
  return { text: L.join('\n'), pass };
}

const tStart = performance.now();
console.log(
  `soak-stores: ${opt.kills} writer SIGKILLs per store${opt.store !== 'file' ? `, ${opt.restarts} PostgreSQL crashes` : ''}; Node ${process.version}, ${os.platform()} ${os.release()}, ${os.cpus().length} CPUs`,
);
let lib;
const results = [];
try {
  lib = snapshotLibrary();
  const keyFile = path.join(tmp, 'kek.key');
  fs.writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  if (opt.store !== 'pg') {
    const dir = path.join(tmp, 'file-store');
    fs.mkdirSync(dir);
    console.error(`file store in ${dir}`);
    const s = await soakStore('file', { store: 'file', lib, keyFile, path: path.join(dir, 'keyring.json') });
    results.push(report(s, 'file'));
  }
  if (opt.store !== 'file') {
    const pg = await startPg();
    console.error(`PostgreSQL (${pg.version}) on 127.0.0.1:${pg.port}, data in ${path.join(tmp, 'pg')}`);
    const s = await soakStore('pg', { store: 'pg', lib, keyFile, url: pg.url, table: 'tessera_soak' }, pg);
    results.push(report(s, 'pg'));
  }
} catch (e) {
  console.error(`soak-stores: could not run: ${e?.stack ?? e}`);
  for (const r of results) console.log(`\n${r.text}`);
  process.exit(2);
}
for (const r of results) console.log(`\n${r.text}`);
const pass = results.every((r) => r.pass);
console.log(`\n${pass ? 'PASS' : 'FAIL'}: total ${fmt(performance.now() - tStart)} on Node ${process.version}${keepTmp ? `; kept ${tmp}` : ''}`);
process.exit(pass ? 0 : 1);
