/**
 * Cobblestone open (c2sp.org/chunked-encryption; docs/API.md "Chunked
 * encryption") under fast-check: truncated, reordered, extended, spliced and
 * byte-edited chunk streams through every kind of decrypt (buffer, async,
 * random access, Node stream, Web stream). Cases per property:
 * test/property-runs.ts.
 *
 * The oracle, from the spec's layout (salt 24 || commitment 32 || chunks of
 * 16 KiB + 16-byte tag, the final chunk shorter than a full one, possibly
 * empty): a ciphertext whose chunk stream leaves a final piece under 16 bytes
 * (none at all included) has no possible length (ERR_TRUNCATED); otherwise
 * a header that is not one this key and context made is ERR_COMMITMENT;
 * otherwise anything but that header's own chunk stream is ERR_AUTH.
 *
 * Proves, for both suites and random contexts:
 *  - round trip through every decrypt kind, random stream piece boundaries;
 *  - chunkedOpenedLength refuses exactly the lengths the spec rules out;
 *  - for two messages under one key and context and any mix of chunk edits
 *    (cut at or inside a chunk, drop, swap, duplicate, a chunk of the other
 *    message at the same index, a chunk of the other appended, the other's
 *    header, random tails, byte edits): decryptChunked and
 *    decryptChunkedAsync give exactly the oracle's outcome, and plaintext
 *    only for an input that is one of the two messages;
 *  - openChunked opens exactly when the length, header and final chunk are
 *    genuine, and then every read touching a changed chunk is ERR_AUTH and
 *    every other read returns the original plaintext;
 *  - the Node and Web decrypt streams end cleanly exactly for an unchanged
 *    message; otherwise they fail with ERR_TRUNCATED / ERR_COMMITMENT /
 *    ERR_AUTH after releasing at most a prefix of the plaintext;
 *  - random bytes: ERR_TRUNCATED or ERR_COMMITMENT as the oracle says;
 *    another context or key: ERR_COMMITMENT.
 */
import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { applyByteEdits, type ByteEdit, byteEdit, equalBytes, outcome, outcomeAsync, seededBytes } from './property-arbitraries';
import { params, scaleTimeout } from './property-runs';
import { T } from './tessera';

scaleTimeout(20);

const CHUNK = 16384;
const TAG = 16;
const CHUNK_CT = CHUNK + TAG;
const HEADER = 56;
const CODES = new Set(['ERR_TRUNCATED', 'ERR_COMMITMENT', 'ERR_AUTH']);
type Suite = 'cobblestone-256' | 'cobblestone-128';
const KEYS: Record<Suite, Uint8Array> = { 'cobblestone-256': randomBytes(32), 'cobblestone-128': randomBytes(16) };

/** The spec's length rule: the chunk stream must end in a final chunk of at least its tag. */
const possibleLength = (n: number) => n >= HEADER + TAG && (n - HEADER) % CHUNK_CT >= TAG;

/** Plaintext sizes: small, around chunk boundaries, up to 5 chunks. */
const size = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -17, max: 17 })).map(([k, d]) => Math.max(0, k * CHUNK + d)),
  fc.integer({ min: 0, max: 5 * CHUNK }),
);
const plaintext = fc.tuple(size, fc.integer()).map(([n, seed]) => seededBytes(n, seed));
const context = fc.oneof(fc.string({ maxLength: 16 }), fc.uint8Array({ maxLength: 16 }));
const suite = fc.constantFrom<Suite>('cobblestone-256', 'cobblestone-128');

interface Parts {
  header: Uint8Array;
  chunks: Uint8Array[];
}
function split(ct: Uint8Array): Parts {
  const chunks: Uint8Array[] = [];
  for (let at = HEADER; at < ct.length; at += CHUNK_CT) chunks.push(ct.subarray(at, Math.min(at + CHUNK_CT, ct.length)));
  return { header: ct.subarray(0, HEADER), chunks };
}
const join = (p: Parts) => new Uint8Array(Buffer.concat([p.header, ...p.chunks]));

/** Edits of a chunk stream, with a second message of the same key and context as the donor. */
type ChunkEdit =
  | { op: 'cut'; chunk: number; extra: number }
  | { op: 'drop'; chunk: number }
  | { op: 'swap'; i: number; j: number }
  | { op: 'duplicate'; i: number; to: number }
  | { op: 'splice'; i: number }
  | { op: 'appendDonor'; i: number }
  | { op: 'donorHeader' }
  | { op: 'extend'; data: Uint8Array }
  | { op: 'bytes'; edit: ByteEdit };

const chunkEdit: fc.Arbitrary<ChunkEdit> = fc.oneof(
  fc.record({ op: fc.constant('cut' as const), chunk: fc.nat(), extra: fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, CHUNK_CT - 1), fc.nat(CHUNK_CT)) }),
  fc.record({ op: fc.constant('drop' as const), chunk: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), i: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('splice' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('appendDonor' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('donorHeader' as const) }),
  fc.record({
    op: fc.constant('extend' as const),
    data: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      fc.integer().map((s) => seededBytes(CHUNK_CT, s)),
    ),
  }),
  fc.record({ op: fc.constant('bytes' as const), edit: byteEdit }),
);

function applyChunkEdits(ct: Uint8Array, donor: Uint8Array, edits: readonly ChunkEdit[]): Uint8Array {
  let cur = ct;
  const d = split(donor);
  for (const e of edits) {
    const p = split(cur);
    const n = p.chunks.length;
    const c = p.chunks;
    switch (e.op) {
      case 'cut': {
        // A strict prefix: `chunk` whole chunks and `extra` bytes of the next one, at most all but the last byte.
        const body = cur.length - HEADER;
        if (body > 0) cur = cur.subarray(0, HEADER + Math.min((e.chunk % (n + 1)) * CHUNK_CT + e.extra, body - 1));
        break;
      }
      case 'drop':
        if (n > 0) cur = join({ header: p.header, chunks: c.filter((_, i) => i !== e.chunk % n) });
        break;
      case 'swap': {
        if (n < 2) break;
        const [i, j] = [e.i % n, e.j % n];
        const next = [...c];
        [next[i], next[j]] = [c[j]!, c[i]!];
        cur = join({ header: p.header, chunks: next });
        break;
      }
      case 'duplicate':
        if (n > 0) {
          const next = [...c];
          next.splice(e.to % (n + 1), 0, c[e.i % n]!);
          cur = join({ header: p.header, chunks: next });
        }
        break;
      case 'splice':
        if (n > 0 && d.chunks.length > 0) {
          const i = e.i % Math.min(n, d.chunks.length);
          cur = join({ header: p.header, chunks: c.map((x, k) => (k === i ? d.chunks[i]! : x)) });
        }
        break;
      case 'appendDonor':
        if (d.chunks.length > 0) cur = join({ header: p.header, chunks: [...c, d.chunks[e.i % d.chunks.length]!] });
        break;
      case 'donorHeader':
        cur = join({ header: d.header, chunks: c });
        break;
      case 'extend':
        cur = new Uint8Array(Buffer.concat([cur, e.data]));
        break;
      case 'bytes':
        cur = applyByteEdits(cur, [e.edit]);
        break;
    }
  }
  return cur;
}

interface Genuine {
  ct: Uint8Array;
  pt: Uint8Array;
}

/** What opening `input` must give: the plaintext, or the code (see the file comment). */
function oracle(input: Uint8Array, genuine: readonly Genuine[]): { code: string; of?: Genuine } {
  if (!possibleLength(input.length)) return { code: 'ERR_TRUNCATED' };
  const g = genuine.find((x) => equalBytes(x.ct.subarray(0, HEADER), input.subarray(0, HEADER)));
  if (!g) return { code: 'ERR_COMMITMENT' };
  return { code: equalBytes(g.ct, input) ? 'ok' : 'ERR_AUTH', of: g };
}

async function viaNode(t: Transform, parts: Uint8Array[], out: Buffer[]): Promise<void> {
  await pipeline(Readable.from(parts), t, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
}

async function viaWeb(ts: TransformStream<Uint8Array, Uint8Array>, parts: Uint8Array[], out: Uint8Array[]): Promise<void> {
  let i = 0;
  const rs = new ReadableStream<Uint8Array>({ pull: (c) => (i < parts.length ? c.enqueue(parts[i++]!) : c.close()) });
  for await (const c of rs.pipeThrough(ts) as unknown as AsyncIterable<Uint8Array>) out.push(c);
}

/** Input pieces cut at the given points (modulo the length). */
function pieces(input: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (input.length > 0 ? c % input.length : 0)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, input.length]) {
    if (c > prev) out.push(input.subarray(prev, c));
    prev = c;
  }
  return out;
}

const streamKind = fc.constantFrom('node', 'web');
const cuts = fc.array(fc.nat(), { maxLength: 6 });

/** The stream's outcome and everything it released before it. */
async function streamOpen(kind: string, key: Uint8Array, input: Uint8Array, o: { context: string | Uint8Array; suite: Suite }, at: number[]) {
  const out: Uint8Array[] = [];
  const code = await outcomeAsync(() =>
    kind === 'node'
      ? viaNode(T.createDecryptStream(key, o), pieces(input, at), out as Buffer[])
      : viaWeb(new T.DecryptTransformStream(key, o), pieces(input, at), out),
  );
  return { code, released: Buffer.concat(out) };
}

describe('Cobblestone open', () => {
  test('round trip through decryptChunked, decryptChunkedAsync, openChunked and both streams', async () => {
    await fc.assert(
      fc.asyncProperty(suite, context, plaintext, fc.integer({ min: 1, max: 2 }), streamKind, cuts, async (s, ctx, pt, threads, kind, at) => {
        const key = KEYS[s];
        const o = { context: ctx, suite: s, threads };
        const ct = T.encryptChunked(key, pt, o);
        expect(ct.length).toBe(T.chunkedSealedLength(pt.length));
        expect(equalBytes(T.decryptChunked(key, ct, o), pt)).toBe(true);
        expect(equalBytes(await T.decryptChunkedAsync(key, ct, o), pt)).toBe(true);
        using r = await T.openChunked(ct, key, o);
        expect(r.size).toBe(pt.length);
        expect(equalBytes(await r.read(0, pt.length), pt)).toBe(true);
        const st = await streamOpen(kind, key, ct, o, at);
        expect(st.code).toBe('ok');
        expect(equalBytes(st.released, pt)).toBe(true);
      }),
      params({ timeout: 30_000 }),
    );
  });

  test('chunkedOpenedLength refuses exactly the lengths the spec rules out', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(6 * CHUNK_CT), fc.nat(2 ** 36)), (n) => {
        let got: number | undefined;
        const o = outcome(() => (got = T.chunkedOpenedLength(n)));
        if (!possibleLength(n)) {
          expect(o).toBe('ERR_TRUNCATED');
          return;
        }
        expect(o).toBe('ok');
        const body = n - HEADER;
        expect(got).toBe(body - Math.ceil(body / CHUNK_CT) * TAG);
        expect(T.chunkedSealedLength(got!)).toBe(n);
      }),
      params(),
    );
  });

  test('edited chunk streams: decryptChunked and decryptChunkedAsync give exactly the oracle outcome, plaintext only for a genuine message', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        suite,
        context,
        plaintext,
        plaintext,
        fc.array(chunkEdit, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 2 }),
        async (s, ctx, pt1, pt2, edits, threads) => {
          const key = KEYS[s];
          const o = { context: ctx, suite: s, threads };
          const genuine = [
            { ct: T.encryptChunked(key, pt1, o), pt: pt1 },
            { ct: T.encryptChunked(key, pt2, o), pt: pt2 },
          ];
          const input = applyChunkEdits(genuine[0]!.ct, genuine[1]!.ct, edits);
          const want = oracle(input, genuine);
          seen.add(want.code);
          let got: Uint8Array | undefined;
          expect(outcome(() => (got = T.decryptChunked(key, input, o)))).toBe(want.code);
          if (want.code === 'ok') expect(equalBytes(got!, want.of!.pt)).toBe(true);
          let gotAsync: Uint8Array | undefined;
          expect(await outcomeAsync(async () => (gotAsync = await T.decryptChunkedAsync(key, input, o)))).toBe(want.code);
          if (want.code === 'ok') expect(equalBytes(gotAsync!, want.of!.pt)).toBe(true);
        },
      ),
      params({ timeout: 30_000 }),
    );
    // Every refusal the oracle knows was reached.
    for (const code of CODES) expect(seen).toContain(code);
  });

  test('edited chunk streams: openChunked opens only a genuine length, header and final chunk; reads of changed chunks are ERR_AUTH, others the plaintext', async () => {
    await fc.assert(
      fc.asyncProperty(suite, context, plaintext, plaintext, fc.array(chunkEdit, { minLength: 1, maxLength: 3 }), async (s, ctx, pt1, pt2, edits) => {
        const key = KEYS[s];
        const o = { context: ctx, suite: s };
        const genuine = [
          { ct: T.encryptChunked(key, pt1, o), pt: pt1 },
          { ct: T.encryptChunked(key, pt2, o), pt: pt2 },
        ];
        const input = applyChunkEdits(genuine[0]!.ct, genuine[1]!.ct, edits);
        const want = oracle(input, genuine);
        let reader: Awaited<ReturnType<typeof T.openChunked>> | undefined;
        const opened = await outcomeAsync(async () => (reader = await T.openChunked(input, key, o)));
        if (want.code !== 'ERR_AUTH') expect(opened).toBe(want.code);
        else expect(['ok', 'ERR_AUTH']).toContain(opened);
        if (opened !== 'ok') return;
        // Opened: the length and the final chunk are those of the genuine message.
        const g = want.of!;
        expect(input.length).toBe(g.ct.length);
        expect(reader!.size).toBe(g.pt.length);
        const have = split(input).chunks;
        const real = split(g.ct).chunks;
        for (let k = 0; k < real.length; k++) {
          const from = k * CHUNK;
          const len = Math.min(CHUNK, g.pt.length - from);
          if (len <= 0) continue;
          let got: Uint8Array | undefined;
          const r = await outcomeAsync(async () => (got = await reader!.read(from, len)));
          expect(r).toBe(equalBytes(have[k]!, real[k]!) ? 'ok' : 'ERR_AUTH');
          if (r === 'ok') expect(equalBytes(got!, g.pt.subarray(from, from + len))).toBe(true);
        }
        reader!.close();
      }),
      params({ timeout: 30_000 }),
    );
  });

  test('edited chunk streams: the decrypt streams end cleanly only for a genuine message and release at most a prefix of its plaintext', async () => {
    await fc.assert(
      fc.asyncProperty(
        suite,
        context,
        plaintext,
        plaintext,
        fc.array(chunkEdit, { minLength: 1, maxLength: 3 }),
        streamKind,
        cuts,
        async (s, ctx, pt1, pt2, edits, kind, at) => {
          const key = KEYS[s];
          const o = { context: ctx, suite: s };
          const genuine = [
            { ct: T.encryptChunked(key, pt1, o), pt: pt1 },
            { ct: T.encryptChunked(key, pt2, o), pt: pt2 },
          ];
          const input = applyChunkEdits(genuine[0]!.ct, genuine[1]!.ct, edits);
          const want = oracle(input, genuine);
          const st = await streamOpen(kind, key, input, o, at);
          if (want.code === 'ok') {
            expect(st.code).toBe('ok');
            expect(equalBytes(st.released, want.of!.pt)).toBe(true);
            return;
          }
          expect(CODES.has(st.code), st.code).toBe(true);
          if (want.code === 'ERR_COMMITMENT' && input.length >= HEADER) expect(st.code).toBe('ERR_COMMITMENT');
          // Released bytes were verified chunks of the message whose header this is.
          const g = genuine.find((x) => equalBytes(x.ct.subarray(0, HEADER), input.subarray(0, HEADER)));
          if (!g) expect(st.released.length).toBe(0);
          else expect(equalBytes(st.released, g.pt.subarray(0, st.released.length))).toBe(true);
          expect(st.released.length % CHUNK).toBe(0);
        },
      ),
      params({ timeout: 30_000 }),
    );
  });

  test('random bytes: ERR_TRUNCATED for impossible lengths, else ERR_COMMITMENT', () => {
    fc.assert(
      fc.property(
        suite,
        context,
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.tuple(fc.nat(3 * CHUNK_CT), fc.integer()).map(([n, sd]) => seededBytes(n, sd)),
        ),
        (s, ctx, input) => {
          expect(outcome(() => T.decryptChunked(KEYS[s], input, { context: ctx, suite: s }))).toBe(
            possibleLength(input.length) ? 'ERR_COMMITMENT' : 'ERR_TRUNCATED',
          );
        },
      ),
      params(),
    );
  });

  test('another context or another key: ERR_COMMITMENT', () => {
    fc.assert(
      fc.property(suite, context, context, plaintext, fc.boolean(), (s, ctx, other, pt, otherKey) => {
        const key = KEYS[s];
        const ct = T.encryptChunked(key, pt, { context: ctx, suite: s });
        const utf8 = (c: string | Uint8Array) => (typeof c === 'string' ? new TextEncoder().encode(c) : c);
        if (otherKey) {
          const k2 = new Uint8Array(key);
          k2[0]! ^= 1;
          expect(outcome(() => T.decryptChunked(k2, ct, { context: ctx, suite: s }))).toBe('ERR_COMMITMENT');
        } else if (!equalBytes(utf8(ctx), utf8(other))) {
          expect(outcome(() => T.decryptChunked(key, ct, { context: other, suite: s }))).toBe('ERR_COMMITMENT');
        }
      }),
      params(),
    );
  });
});
