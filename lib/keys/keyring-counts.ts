/**
 * Use counts not yet persisted (docs/API.md "Key manager": counts are persisted
 * with every commit and every countFlushEvery uses per key, so a crash
 * loses at most about that many per key). The monitoring layer records
 * uses (keyring-monitor.ts); the keyring adds these to every draft it
 * commits and settles them once the commit landed; the rotation policy
 * reads the unpersisted seals of a primary (maxMessages).
 */
import type { KeyringDoc } from './store';

/** key id -> [sealed, opened] */
export type Pending = Map<number, [number, number]>;

export class UseCounts {
  readonly pending: Pending = new Map();
  readonly #flushEvery: number;

  constructor(flushEvery: number) {
    this.#flushEvery = flushEvery;
  }

  /** Adds n uses of key id (slot 0 sealed, 1 opened); true when its unpersisted uses reached countFlushEvery. */
  add(id: number, slot: 0 | 1, n: number): boolean {
    let p = this.pending.get(id);
    if (!p) this.pending.set(id, (p = [0, 0]));
    p[slot] += n;
    return p[0] + p[1] >= this.#flushEvery;
  }

  /** Messages sealed under key id and not persisted yet. */
  sealed(id: number): number {
    return this.pending.get(id)?.[0] ?? 0;
  }

  /** Adds the pending counts to a draft's key records; returns what it added (settle() it once the draft is committed). */
  applyTo(doc: KeyringDoc): Pending {
    const applied: Pending = new Map();
    for (const [id, [e, d]] of this.pending) {
      const rec = doc.keys.find((k) => k.id === id);
      if (!rec) continue;
      rec.encrypted += e;
      rec.decrypted += d;
      applied.set(id, [e, d]);
    }
    return applied;
  }

  /** The applied counts are persisted: only uses recorded since remain pending. */
  settle(applied: Pending): void {
    for (const [id, [e, d]] of applied) {
      const p = this.pending.get(id);
      if (!p) continue;
      p[0] -= e;
      p[1] -= d;
      if (p[0] === 0 && p[1] === 0) this.pending.delete(id);
    }
  }
}
