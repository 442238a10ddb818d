/**
 * The keyring's streaming AEAD primitive, ring.streamingAead(purpose)
 * (lib/keys/keyring-streaming.ts; docs/API.md "Key manager"): one format (the
 * TSRF keyring file) for files, async iterables, Node streams and Web
 * streams.
 *
 * Proves: Node Transform and Web TransformStream round trips of 0 B, 1 B
 * and 1 MiB + 7 in odd-sized pieces; what a stream writes is a keyring file
 * (decryptFile reads it, inspectEnvelope shows its purpose and metadata)
 * and what encryptFile writes decrypts as a stream; every encrypted stream
 * has its own data key, decryption uses the data-key cache; a tampered
 * chunk (ERR_AUTH), header (ERR_COMMITMENT), truncated stream and foreign
 * input (ERR_FORMAT) end in an error, never a clean end, and are audited
 * with detail 'stream'; a tampered file leaves no output; a primitive
 * without a purpose only decrypts; the KEK-only form streamingAead(kek)
 * reads and writes the same format without a keyring.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { ringOpener } from './keyring.helpers';
import { rejects, T } from './tessera';

const require = createRequire(import.meta.url);
const EF = require('../dist/cjs/keys/envelope-file.js') as typeof import('../dist/cjs/keys/envelope-file');
type Ev = import('../dist/cjs/keys/audit').AuditEvent;
type Duplex = import('node:stream').Duplex;

let dir: string;
let n = 0;
const p = (name: string) => path.join(dir, `${n++}-${name}`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-streaming-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const open = ringOpener(() => p('ring.json'));

/** data cut into pieces of 1, 7, 4096, 65537 ... bytes (never aligned with chunks or batches). */
function pieces(data: Uint8Array): Uint8Array[] {
  const sizes = [1, 7, 4096, 65537, 333333];
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const len = sizes[i % sizes.length]!;
    out.push(data.subarray(at, at + len));
    at += len;
  }
  return out;
}

async function throughNode(t: Duplex, input: Uint8Array[]): Promise<Buffer> {
  const got: Buffer[] = [];
  await pipeline(Readable.from(input), t, new Writable({ write: (c, _e, cb) => (got.push(Buffer.from(c)), cb()) }));
  return Buffer.concat(got);
}

async function throughWeb(t: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }, input: Uint8Array[]): Promise<Buffer> {
  const src = new ReadableStream<Uint8Array>({
    start(c) {
      for (const x of input) c.enqueue(x);
      c.close();
    },
  });
  const got: Buffer[] = [];
  for await (const c of src.pipeThrough(t) as unknown as AsyncIterable<Uint8Array>) got.push(Buffer.from(c));
  return Buffer.concat(got);
}

async function code(pr: Promise<unknown>): Promise<string> {
  return (await rejects(pr)).code;
}

describe('ring.streamingAead(purpose)', () => {
  test('Node and Web stream round trips of 0 B, 1 B and 1 MiB + 7 in odd pieces', async () => {
    const { ring } = await open();
    const sa = ring.streamingAead('files');
    expect(ring.streamingAead('files')).toBe(sa);
    for (const size of [0, 1, (1 << 20) + 7]) {
      const data = new Uint8Array(randomBytes(size));
      const ct = await throughNode(sa.encryptStream({ metadata: { size } }), pieces(data));
      expect(ct.subarray(0, 5).toString('latin1')).toBe('TSRF\x01');
      expect(Buffer.from(await throughNode(ring.streamingAead().decryptStream(), pieces(ct))).equals(Buffer.from(data))).toBe(true);
      const wct = await throughWeb(sa.encryptWebStream(), pieces(data));
      expect(Buffer.from(await throughWeb(ring.streamingAead().decryptWebStream(), pieces(wct))).equals(Buffer.from(data))).toBe(true);
      // The async-iterable core, with a plain array as the source.
      const chunks: Uint8Array[] = [];
      for await (const c of sa.decryptIterable([ct])) chunks.push(c);
      expect(Buffer.concat(chunks).equals(Buffer.from(data))).toBe(true);
    }
    await ring.close();
  });

  test('one format: streams are keyring files and files decrypt as streams; a fresh data key per encrypted stream', async () => {
    const { ring } = await open({ cache: { maxMessages: 100 } });
    const sa = ring.streamingAead('files');
    const data = new Uint8Array(randomBytes(100_000));
    const ct = await throughNode(sa.encryptStream({ metadata: { name: 'a.bin' } }), [data]);
    const f = p('stream.tsr');
    fs.writeFileSync(f, ct);
    expect(await EF.inspectEnvelope(f)).toMatchObject({ kind: 'kek', purpose: 'files', metadata: { name: 'a.bin' } });
    const out = p('out');
    expect(await ring.streamingAead().decryptFile(f, out)).toMatchObject({ purpose: 'files', metadata: { name: 'a.bin' } });
    expect(fs.readFileSync(out).equals(Buffer.from(data))).toBe(true);
    const src = p('plain');
    fs.writeFileSync(src, data);
    const f2 = p('file.tsr');
    await sa.encryptFile(src, f2);
    expect((await throughNode(sa.decryptStream(), [fs.readFileSync(f2)])).equals(Buffer.from(data))).toBe(true);
    // Streams do not share a data key (their length is unknown in advance); decryption hits the cache.
    const wrapped = (b: Buffer) => JSON.parse(b.subarray(9, 9 + b.readUInt32BE(5)).toString()).kek.wrapped as string;
    const ct2 = await throughNode(sa.encryptStream(), [data]);
    expect(wrapped(ct2)).not.toBe(wrapped(ct));
    const before = ring.cacheStats();
    await throughNode(sa.decryptStream(), [ct2]);
    await throughNode(sa.decryptStream(), [ct2]);
    expect(ring.cacheStats().hits - before.hits).toBe(1);
    await ring.close();
  });

  test('tampered, truncated and foreign input end in an error, audited with detail stream; a tampered file leaves nothing', async () => {
    const { ring } = await open();
    const events: Ev[] = [];
    ring.on('audit', (e) => events.push(e));
    const sa = ring.streamingAead('files');
    const data = new Uint8Array(randomBytes(300_000));
    const ct = await throughNode(sa.encryptStream({ metadata: { owner: 'alice' } }), [data]);
    const dec = () => ring.streamingAead().decryptStream();
    const chunk = Buffer.from(ct);
    chunk[chunk.length - 1000]! ^= 1;
    expect(await code(throughNode(dec(), pieces(chunk)))).toBe('ERR_AUTH');
    const header = Buffer.from(ct);
    header[header.indexOf('alice') + 1]! ^= 1;
    expect(await code(throughNode(dec(), [header]))).toBe('ERR_COMMITMENT');
    expect(['ERR_TRUNCATED', 'ERR_AUTH']).toContain(await code(throughNode(dec(), [ct.subarray(0, ct.length - 20)])));
    expect(await code(throughNode(dec(), [ct.subarray(0, 20)]))).toBe('ERR_FORMAT');
    expect(await code(throughNode(dec(), [Buffer.from('hello, not a keyring file')]))).toBe('ERR_FORMAT');
    expect(await code(throughNode(dec(), []))).toBe('ERR_FORMAT');
    expect(await code(throughWeb(ring.streamingAead().decryptWebStream(), [chunk]))).toBe('ERR_AUTH');
    const streamEvents = events.filter((e) => e.detail === 'stream');
    expect(streamEvents.map((e) => e.code)).toEqual([
      'ERR_AUTH',
      'ERR_COMMITMENT',
      expect.stringMatching(/ERR_TRUNCATED|ERR_AUTH/),
      'ERR_FORMAT',
      'ERR_FORMAT',
      'ERR_FORMAT',
      'ERR_AUTH',
    ]);
    for (const e of streamEvents) expect(e).toMatchObject({ op: 'decrypt', outcome: 'failure', keyId: null, purpose: null, bytes: 0 });
    // Only verified plaintext comes out of a tampered stream: nothing past the bad batch, and never all of it.
    const got: Buffer[] = [];
    await pipeline(Readable.from([chunk]), dec(), new Writable({ write: (c, _e, cb) => (got.push(Buffer.from(c)), cb()) })).catch(() => undefined);
    expect(Buffer.concat(got).length).toBeLessThan(data.length);
    // A tampered file: an error and no output file.
    const f = p('bad.tsr');
    fs.writeFileSync(f, chunk);
    const out = p('bad-out');
    expect(await code(ring.streamingAead().decryptFile(f, out))).toBe('ERR_AUTH');
    expect(fs.readdirSync(dir).filter((x) => x.includes(path.basename(out)))).toEqual([]);
    expect(events.at(-1)).toMatchObject({ op: 'decrypt', detail: 'file', code: 'ERR_AUTH' });
    await ring.close();
  });

  test('without a purpose it only decrypts; bad options and sources; closed ring', async () => {
    const { ring } = await open();
    const any = ring.streamingAead();
    expect(any.purpose).toBeUndefined();
    expect(await code(throughNode(any.encryptStream(), [new Uint8Array(3)]))).toBe('ERR_ARGUMENT');
    const src = p('plain');
    fs.writeFileSync(src, 'x');
    expect(await code(any.encryptFile(src, p('x')))).toBe('ERR_ARGUMENT');
    const sa = ring.streamingAead('files');
    expect(await code(throughNode(sa.encryptStream({ suite: 'nope' as never }), [new Uint8Array(3)]))).toBe('ERR_ALGORITHM');
    expect(await code(throughNode(sa.encryptStream({ metadata: [1] as never }), [new Uint8Array(3)]))).toBe('ERR_ARGUMENT');
    expect(await code(throughNode(sa.encryptStream(), ['text' as unknown as Uint8Array]))).toBe('ERR_ARGUMENT');
    const it = sa.encryptIterable(5 as unknown as Uint8Array[]);
    expect(await code(it.next())).toBe('ERR_ARGUMENT');
    // cobblestone-128 streams round-trip too.
    const data = new Uint8Array(randomBytes(40_000));
    const ct = await throughNode(sa.encryptStream({ suite: 'cobblestone-128', threads: 1 }), [data]);
    expect((await throughNode(any.decryptStream({ maxInFlight: 1 }), pieces(ct))).equals(Buffer.from(data))).toBe(true);
    await ring.close();
    expect(await code(throughNode(sa.encryptStream(), [new Uint8Array(3)]))).toBe('ERR_DISPOSED');
    expect(await code(throughNode(any.decryptStream(), [ct]))).toBe('ERR_DISPOSED');
  });

  test('streamingAead(kek): the same format without a keyring (an RSA public key encrypts, the keyring decrypts)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const store = p('rsa-ring.json');
    const owner = await T.Keyring.open(new T.FileKeyStore(store), { kek: T.kek.rsa({ privateKey }) });
    const edge = T.streamingAead(T.kek.rsa({ publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string }), 'uploads');
    const data = new Uint8Array(randomBytes(70_000));
    const ct = await throughNode(edge.encryptStream({ metadata: { from: 'edge-1' } }), pieces(data));
    expect(
      await code(throughNode(T.streamingAead(T.kek.rsa({ publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string })).decryptStream(), [ct])),
    ).toBe('ERR_KEK');
    expect((await throughNode(owner.streamingAead().decryptStream(), [ct])).equals(Buffer.from(data))).toBe(true);
    const kek = T.kek.fromKey(randomBytes(32));
    const bare = T.streamingAead(kek, 'p');
    const wct = await throughWeb(bare.encryptWebStream(), [data]);
    expect((await throughWeb(T.streamingAead(kek).decryptWebStream(), pieces(wct))).equals(Buffer.from(data))).toBe(true);
    await owner.close();
  });
});
