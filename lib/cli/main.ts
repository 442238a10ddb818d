#!/usr/bin/env node
/**
 * `tessera` command. Subcommands:
 *   tessera bench [--quick]   run the benchmark suite (bench/run.mjs)
 *   tessera selftest          seal/open every algorithm once on the active backend
 *   tessera version
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ALGORITHMS, AeadKey, backend, secureMemoryStats, TesseraError } from '../index';

const root = path.join(__dirname, '..', '..', '..');

function usage(code: number): never {
  (code ? process.stderr : process.stdout).write('usage: tessera <bench [--quick] | selftest | version>\n');
  process.exit(code);
}

function selftest(): void {
  for (const alg of ALGORITHMS) {
    using key = AeadKey.generate(alg);
    const msg = new TextEncoder().encode(`tessera selftest ${alg}`);
    const sealed = key.seal(msg);
    const opened = key.open(sealed);
    if (Buffer.compare(Buffer.from(opened), Buffer.from(msg)) !== 0) throw new Error(`${alg}: round trip mismatch`);
    sealed[sealed.length - 1]! ^= 1;
    try {
      key.open(sealed);
      throw new Error(`${alg}: tampered message opened`);
    } catch (e) {
      if (!(e instanceof TesseraError) || e.code !== 'ERR_AUTH') throw e;
    }
    console.log(`ok ${alg}`);
  }
  console.log(`backend ${backend()}; secure memory ${JSON.stringify(secureMemoryStats())}`);
}

function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'bench': {
      const script = path.join(root, 'bench', 'run.mjs');
      if (!fs.existsSync(script)) {
        console.error('tessera bench: bench/run.mjs is not in this installation (benchmarks ship with the source tree)');
        process.exit(2);
      }
      const r = spawnSync(process.execPath, ['--expose-gc', script, ...rest], { stdio: 'inherit' });
      process.exit(r.status ?? 1);
    }
    case 'selftest':
      return selftest();
    case 'version':
      console.log(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
      return;
    case '-h':
    case '--help':
      return usage(0);
    default:
      return usage(2);
  }
}

main(process.argv.slice(2));
