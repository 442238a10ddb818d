// Child process of scripts/soak-stores.mjs (read that file's top comment).
// Not meant to be run by hand. Its configuration is one JSON object in the
// SOAK_CONFIG environment variable:
//   { mode: 'write' | 'verify', store: 'file' | 'pg', lib, keyFile,
//     path (file store), url + table (PostgreSQL), acks (verify: a JSON file) }
//
// mode 'write': opens a Keyring on the store (KEK: kek.fromKeyFile) and loops
// forever: create a purpose or rotate one, then encrypt a message under the
// new key. Every line it prints on stdout is written with writeSync (it is
// in the pipe before the next statement runs, so a SIGKILL cannot drop a line
// the parent should have seen):
//   {"t":"ready"}                         the keyring is open
//   {"t":"begin","op":..,"purpose":..}    an operation starts
//   {"t":"c+"} / {"t":"c-","ok":bool}     store.commit() entered / returned
//   {"t":"ack",...}                       the operation's promise resolved (the
//                                         store commit returned): key id,
//                                         purpose, generation, a message
//                                         sealed under the new key (base64) and
//                                         its plaintext
//   {"t":"err",...}                       an operation failed (then, on
//                                         PostgreSQL, the writer reopens)
//   {"t":"openfail",...}                  Keyring.open failed for good
// mode 'verify': opens a fresh store + Keyring (the reopen: the document's
// MAC is checked, every key is unwrapped), checks every acknowledged key and
// message from the acks file, prints one JSON result line and exits WITHOUT
// closing the keyring (close() would persist use counts: a verifier writes
// nothing to the store).
import { writeSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const cfg = JSON.parse(process.env.SOAK_CONFIG ?? '{}');
const require = createRequire(import.meta.url);
const T = require(join(cfg.lib, 'dist/cjs/index.js'));

const out = (obj) => {
  const line = Buffer.from(`${JSON.stringify(obj)}\n`);
  for (let off = 0; off < line.length;) {
    try {
      off += writeSync(1, line, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const codeOf = (e) => (e && typeof e.code === 'string' ? e.code : 'no code');
const msgOf = (e) => String(e && e.message ? e.message : e).slice(0, 500);

function makeStore() {
  if (cfg.store === 'file') return new T.FileKeyStore(cfg.path);
  return new T.PostgresKeyStore({ connectionString: cfg.url, table: cfg.table, connectTimeoutMs: 2000, lockTimeoutMs: 10_000 });
}

/** The store, with store.commit() bracketed by c+ / c- lines (so the parent knows when a commit is in flight). */
function instrumented(store) {
  return {
    kind: store.kind,
    load: () => store.load(),
    close: () => store.close(),
    async commit(next, expected, verify) {
      out({ t: 'c+', gen: next.generation });
      let ok = false;
      try {
        await store.commit(next, expected, verify);
        ok = true;
      } finally {
        out({ t: 'c-', ok });
      }
    },
  };
}

/** Connection-level failures a PostgreSQL restart causes (the writer then reopens). */
const transient = (e) => cfg.store === 'pg' && ['ERR_IO', 'ERR_LOCKED'].includes(codeOf(e));

async function open(kek, instrument) {
  const deadline = Date.now() + 60_000;
  for (let attempt = 0; ; attempt++) {
    const raw = makeStore();
    const store = instrument ? instrumented(raw) : raw;
    try {
      const ring = await T.Keyring.open(store, { kek });
      return { ring, store: raw, attempts: attempt + 1 };
    } catch (e) {
      await raw.close().catch(() => undefined);
      if (!transient(e) || Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

async function write() {
  const kek = T.kek.fromKeyFile(cfg.keyFile);
  let cur;
  try {
    cur = await open(kek, true);
  } catch (e) {
    out({ t: 'openfail', code: codeOf(e), msg: msgOf(e) });
    process.exit(2);
  }
  out({ t: 'ready', gen: cur.ring.generation });
  for (;;) {
    const purposes = Object.keys(cur.ring.purposes());
    const create = purposes.length === 0 || (purposes.length < 40 && Math.random() < 0.15);
    const purpose = create ? `p-${randomBytes(5).toString('hex')}` : purposes[Math.floor(Math.random() * purposes.length)];
    const op = create ? 'create' : 'rotate';
    out({ t: 'begin', op, purpose });
    try {
      const id = create ? await cur.ring.createPurpose(purpose) : await cur.ring.rotate(purpose);
      // Acknowledged: the commit returned. Seal a message under the new key.
      const pt = randomBytes(16 + Math.floor(Math.random() * 48));
      const msg = await cur.ring.encrypt(purpose, pt);
      const sealedBy = T.parseHeader(msg).keyId;
      if (sealedBy !== id) throw Object.assign(new Error(`encrypt used key ${sealedBy}, not the new primary ${id}`), { code: 'SOAK_WRONG_KEY' });
      out({ t: 'ack', op, purpose, id, gen: cur.ring.generation, msg: Buffer.from(msg).toString('base64'), pt: pt.toString('base64') });
    } catch (e) {
      out({ t: 'err', op, purpose, code: codeOf(e), msg: msgOf(e) });
      if (!transient(e)) process.exit(3);
      // PostgreSQL went away (restart): drop this keyring and store, reopen.
      // Not ring.close(): it would try to persist use counts to a server that is down.
      await cur.store.close().catch(() => undefined);
      try {
        cur = await open(kek, true);
      } catch (e2) {
        out({ t: 'openfail', code: codeOf(e2), msg: msgOf(e2) });
        process.exit(2);
      }
      out({ t: 'ready', gen: cur.ring.generation, reopened: true, attempts: cur.attempts });
    }
    // Sometimes idle a little, so that some kills land between operations.
    if (Math.random() < 0.4) await sleep(Math.random() * 15);
  }
}

async function verify() {
  const acks = JSON.parse(readFileSync(cfg.acks, 'utf8'));
  const kek = T.kek.fromKeyFile(cfg.keyFile);
  const res = { ok: false, generation: 0, keys: 0, purposes: 0, checked: 0, lost: [], badMessages: [], invariants: [], error: null, connectAttempts: 0 };
  let ring;
  try {
    // Never let the verifier initialize an empty store (Keyring.open would commit a new keyring).
    const probe = makeStore();
    const doc = await probe.load().finally(() => probe.close().catch(() => undefined));
    if (doc === undefined) {
      res.error = acks.length ? 'the store is empty' : null;
      res.ok = acks.length === 0;
      res.empty = true;
      for (const a of acks) res.lost.push({ id: a.id, purpose: a.purpose, op: a.op, gen: a.gen, kill: a.kill, found: 'empty store' });
      out(res);
      process.exit(0);
    }
  } catch (e) {
    if (!transient(e)) {
      res.error = `${codeOf(e)}: ${msgOf(e)}`;
      out(res);
      process.exit(0);
    }
  }
  try {
    // Connection failures right after a PostgreSQL restart are retried (open() above); a MAC or format failure is not.
    const r = await open(kek, false);
    ring = r.ring;
    res.connectAttempts = r.attempts;
  } catch (e) {
    res.error = `${codeOf(e)}: ${msgOf(e)}`;
    out(res);
    process.exit(0);
  }
  const status = ring.status();
  const byId = new Map(status.map((s) => [s.id, s]));
  res.generation = ring.generation;
  res.keys = status.length;
  const purposes = Object.keys(ring.purposes());
  res.purposes = purposes.length;
  for (const p of purposes) {
    const active = status.filter((s) => s.purpose === p && s.state === 'active').length;
    if (active !== 1) res.invariants.push(`purpose ${p} has ${active} active keys`);
  }
  for (const a of acks) {
    res.checked++;
    const rec = byId.get(a.id);
    if (!rec || rec.purpose !== a.purpose || rec.state === 'destroyed') {
      res.lost.push({ id: a.id, purpose: a.purpose, op: a.op, gen: a.gen, kill: a.kill, found: rec ? `${rec.purpose}/${rec.state}` : 'absent' });
      continue;
    }
    try {
      const pt = await ring.decrypt(Buffer.from(a.msg, 'base64'));
      if (Buffer.compare(Buffer.from(pt), Buffer.from(a.pt, 'base64')) !== 0) throw new Error('plaintext differs');
    } catch (e) {
      res.badMessages.push({ id: a.id, purpose: a.purpose, kill: a.kill, error: `${codeOf(e)}: ${msgOf(e)}` });
    }
  }
  res.ok = res.lost.length === 0 && res.badMessages.length === 0 && res.invariants.length === 0;
  out(res);
  process.exit(0); // no ring.close(): it would commit use counts
}

process.on('unhandledRejection', (e) => {
  out({ t: 'crash', code: codeOf(e), msg: msgOf(e) });
  process.exit(4);
});
if (cfg.mode === 'write') await write();
else if (cfg.mode === 'verify') await verify();
else {
  console.error('soak-stores-worker: SOAK_CONFIG.mode must be write or verify');
  process.exit(64);
}
