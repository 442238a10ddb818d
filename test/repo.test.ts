/**
 * The repository is self-contained: a plain clone carries every file its
 * tests, benchmarks and build read (test/vectors/README.md lists the
 * vendored data), no tracked file reaches into a sibling directory of the
 * checkout, the vendored vectors are the pinned bytes, and the licence files
 * the package declares exist.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { root, vectorsDir } from './tessera';

const tracked = (): string[] => execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);

describe('self-contained repository', () => {
  test('no tracked file refers to a path outside the checkout (the shared directory beside it)', () => {
    // Built from pieces so this file does not match itself.
    const outside = new RegExp(['\\.\\.', '[\\\\/]', 'sha', 'red', '(?:[\\\\/]|\\b)'].join(''));
    const hits: string[] = [];
    for (const f of tracked()) {
      const p = path.join(root, f);
      if (!fs.existsSync(p) || fs.statSync(p).size > 4 << 20) continue;
      const text = fs.readFileSync(p, 'latin1');
      if (text.includes('\0')) continue; // binary (wasm modules)
      text.split('\n').forEach((line, i) => {
        if (outside.test(line)) hits.push(`${f}:${i + 1}`);
      });
    }
    expect(hits).toEqual([]);
  });

  test('the vendored vectors match test/vectors/SHA256SUMS, and every file there is listed', () => {
    const sums = fs.readFileSync(path.join(vectorsDir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    const listed = new Set<string>();
    for (const line of sums) {
      const [hash, name] = line.split(/\s+/) as [string, string];
      const file = path.join(vectorsDir, name);
      expect([name, createHash('sha256').update(fs.readFileSync(file)).digest('hex')]).toEqual([name, hash]);
      listed.add(path.normalize(name));
    }
    const present = fs
      .readdirSync(vectorsDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => path.normalize(path.relative(vectorsDir, path.join(d.parentPath, d.name))))
      .filter((f) => f !== 'SHA256SUMS' && f !== 'README.md');
    expect(present.sort()).toEqual([...listed].sort());
    // Each vendored file is named in the README with its source and licence.
    const readme = fs.readFileSync(path.join(vectorsDir, 'README.md'), 'utf8');
    for (const name of listed) expect([name, readme.includes(path.basename(name))]).toEqual([name, true]);
  });

  test('LICENSE matches package.json and NOTICE names the vendored data', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    expect(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    const notice = fs.readFileSync(path.join(root, 'NOTICE'), 'utf8');
    expect(notice).toContain('test/vectors/wycheproof/');
    expect(notice).toContain('CC BY 4.0');
  });

  test('no generated or stray file is tracked', () => {
    const stray = tracked().filter((f) =>
      /(^|\/)isolate-.*\.log$|\.heapsnapshot$|\.cpuprofile$|^bench\/results\/(?!latest\.json$|report\.md$|[\w-]+\.svg$)/.test(f),
    );
    expect(stray).toEqual([]);
  });
});
