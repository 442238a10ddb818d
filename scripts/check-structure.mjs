// `npm run check:structure`: structural rules of the source tree, no
// dependencies. Exits 1 with a report on any violation, 0 with a one-line
// summary otherwise (size warnings are printed either way).
//
//   a) the import graph of lib/**/*.ts is acyclic, type-only imports included
//      (import / import type / export ... from / import('...') / require('...'))
//   b) the quoted #include graph of native/**/*.{c,cc,h} is acyclic (includes
//      resolved relative to the including file; one that does not resolve is
//      reported too, since the graph would miss its edges)
//   c) the file-level call graph between native .c/.cc files is acyclic: A -> B
//      when A calls (or takes the address of) a non-static tsr_* function, or
//      uses a tsr_* table (kernel vtables), defined in B; calls made by inline
//      code in headers are not seen; a name defined in several files links A
//      to those of them that share a sources.json target with A; native/test,
//      native/bench and native/fuzz left out
//   d) native/sources.json: { groups: { "<dir under native/>": [its .c/.cc
//      files] }, targets: { "<target>": ["<group>", ...] } }; every group is
//      an existing directory and lists exactly the .c/.cc files directly in it,
//      every .c/.cc file (test/bench/fuzz aside) is in exactly one group, every
//      target names existing groups
//   e) every lib/**/*.ts and native .c/.cc/.h file (test/bench/fuzz aside) is
//      under 600 lines: a warning from 600, a failure above 650
//
//   node scripts/check-structure.mjs [--root DIR] [--only a,b,c,d,e] [--print-graph a|b|c]
//
// --root checks another copy of the tree; --print-graph prints the edges of
// graph a, b or c ("from -> to", one a line) instead of checking.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const WARN_LINES = 600;
const FAIL_LINES = 650;
const EXCLUDED_NATIVE = ['native/test/', 'native/bench/', 'native/fuzz/'];
const CYCLE_LIMIT = 200; // elementary cycles listed per strongly connected component

// ---------------------------------------------------------------- arguments

let root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
let only = new Set(['a', 'b', 'c', 'd', 'e']);
let printGraph = null;
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--root' && process.argv[i + 1]) root = path.resolve(process.argv[++i]);
  else if (arg === '--only' && process.argv[i + 1]) only = new Set(process.argv[++i].split(','));
  else if (arg === '--print-graph' && /^[abc]$/.test(process.argv[i + 1] ?? '')) printGraph = process.argv[++i];
  else {
    console.error('usage: node scripts/check-structure.mjs [--root DIR] [--only a,b,c,d,e] [--print-graph a|b|c]');
    process.exit(2);
  }
}
if (printGraph) only = new Set([printGraph]);

// ---------------------------------------------------------------- files

const abs = (r) => path.join(root, ...r.split('/'));
const isFile = (r) => fs.statSync(abs(r), { throwIfNoEntry: false })?.isFile() ?? false;
const isDir = (r) => fs.statSync(abs(r), { throwIfNoEntry: false })?.isDirectory() ?? false;

/** Files under dir (relative to root, '/'-separated, sorted) whose name passes test. */
function walk(dir, test) {
  const out = [];
  const visit = (r) => {
    for (const e of fs.readdirSync(abs(r), { withFileTypes: true })) {
      const child = `${r}/${e.name}`;
      if (e.isDirectory()) visit(child);
      else if (e.isFile() && test(e.name)) out.push(child);
    }
  };
  if (isDir(dir)) visit(dir);
  return out.sort();
}

const read = (r) => fs.readFileSync(abs(r), 'utf8');
const excludedNative = (r) => EXCLUDED_NATIVE.some((p) => r.startsWith(p));

// ---------------------------------------------------------------- lexing

/** Previous non-blank character of out (for the regex-or-division guess). */
function lastSignificant(out) {
  let i = out.length - 1;
  while (i >= 0 && /\s/.test(out[i])) i--;
  if (i < 0) return { ch: '', word: '' };
  let j = i;
  while (j >= 0 && /[\w$]/.test(out[j])) j--;
  return { ch: out[i], word: out.slice(j + 1, i + 1) };
}

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await', 'instanceof']);

/**
 * Source with comments replaced by blanks (newlines kept, so line numbers
 * hold). js: template literals and regular expression literals are lexed
 * too. blankStrings: string, character, template and regex contents become
 * blanks as well (the quotes stay).
 */
function strip(src, { js, blankStrings }) {
  let out = '';
  const braces = []; // js: for each open '{', whether it opened a template substitution
  let i = 0;
  const n = src.length;
  const blank = (s) => s.replace(/[^\n]/g, ' ');
  const keep = (s) => (blankStrings ? blank(s) : s);
  const quoted = (q) => {
    // src[i] is the opening quote; copies through the closing one
    let j = i + 1;
    while (j < n && src[j] !== q && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
    out += q + keep(src.slice(i + 1, Math.min(j, n))) + (j < n && src[j] === q ? q : '');
    i = j < n && src[j] === q ? j + 1 : j;
  };
  const template = () => {
    // at the start of template text (after '`' or a substitution's '}'); stops after '`' or '${'
    let j = i;
    while (j < n && src[j] !== '`' && !(src[j] === '$' && src[j + 1] === '{')) j += src[j] === '\\' ? 2 : 1;
    out += keep(src.slice(i, Math.min(j, n)));
    if (j >= n) {
      i = n;
    } else if (src[j] === '`') {
      out += '`';
      i = j + 1;
    } else {
      out += '${';
      braces.push(true);
      i = j + 2;
    }
  };
  while (i < n) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = n;
      out += blank(src.slice(i, j));
      i = j;
    } else if (c === '/' && d === '*') {
      let j = src.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      out += blank(src.slice(i, j));
      i = j;
    } else if (c === '"' || c === "'") {
      quoted(c);
    } else if (js && c === '`') {
      out += '`';
      i++;
      template();
    } else if (js && c === '{') {
      braces.push(false);
      out += c;
      i++;
    } else if (js && c === '}') {
      if (braces.pop()) {
        out += '}';
        i++;
        template();
      } else {
        out += c;
        i++;
      }
    } else if (js && c === '/') {
      const { ch, word } = lastSignificant(out);
      const regex = ch === '' || '(,=:[!&|?{};+-*%<>~^'.includes(ch) || REGEX_AFTER_WORD.has(word);
      if (!regex) {
        out += c;
        i++;
        continue;
      }
      let j = i + 1;
      let cls = false;
      while (j < n && src[j] !== '\n' && (cls || src[j] !== '/')) {
        if (src[j] === '\\') j++;
        else if (src[j] === '[') cls = true;
        else if (src[j] === ']') cls = false;
        j++;
      }
      out += '/' + keep(src.slice(i + 1, Math.min(j, n))) + (src[j] === '/' ? '/' : '');
      i = src[j] === '/' ? j + 1 : j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const lineOf = (text, index) => text.slice(0, index).split('\n').length;

// ---------------------------------------------------------------- graphs

/**
 * Cycles of a directed graph (Map node -> Map target -> edge info). Returns
 * one entry per strongly connected component of more than one node:
 * { nodes, cycles (arrays of nodes, first node repeated at the end), complete }.
 * complete = false when the component holds more than CYCLE_LIMIT elementary
 * cycles; cycles then holds the shortest cycle through each of its edges.
 */
function findCycles(graph) {
  const nodes = [...graph.keys()].sort();
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const sccs = [];
  let counter = 0;
  const strong = (v) => {
    // iterative Tarjan
    const work = [[v, [...(graph.get(v)?.keys() ?? [])].sort(), 0]];
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    while (work.length) {
      const frame = work[work.length - 1];
      const [u, succ] = frame;
      if (frame[2] < succ.length) {
        const w = succ[frame[2]++];
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, [...graph.get(w).keys()].sort(), 0]);
        } else if (onStack.has(w)) {
          low.set(u, Math.min(low.get(u), index.get(w)));
        }
      } else {
        work.pop();
        if (work.length) {
          const parent = work[work.length - 1][0];
          low.set(parent, Math.min(low.get(parent), low.get(u)));
        }
        if (low.get(u) === index.get(u)) {
          const scc = [];
          let w;
          do {
            w = stack.pop();
            onStack.delete(w);
            scc.push(w);
          } while (w !== u);
          if (scc.length > 1) sccs.push(scc.sort());
        }
      }
    }
  };
  for (const v of nodes) if (!index.has(v)) strong(v);

  return sccs.map((scc) => {
    const inScc = new Set(scc);
    const succ = (u) => [...graph.get(u).keys()].filter((w) => inScc.has(w)).sort();
    // elementary cycles, each found once from its smallest node
    const cycles = [];
    let complete = true;
    const order = new Map(scc.map((v, k) => [v, k]));
    outer: for (const start of scc) {
      const pathNodes = [start];
      const onPath = new Set([start]);
      const iters = [succ(start).filter((w) => order.get(w) >= order.get(start))];
      while (iters.length) {
        const it = iters[iters.length - 1];
        if (!it.length) {
          iters.pop();
          onPath.delete(pathNodes.pop());
          continue;
        }
        const w = it.shift();
        if (w === start) {
          cycles.push([...pathNodes, start]);
          if (cycles.length > CYCLE_LIMIT) {
            complete = false;
            break outer;
          }
        } else if (!onPath.has(w)) {
          pathNodes.push(w);
          onPath.add(w);
          iters.push(succ(w).filter((x) => order.get(x) >= order.get(start)));
        }
      }
    }
    if (!complete) {
      // the shortest cycle through each edge u -> v (BFS from v back to u), deduplicated
      const seen = new Set();
      cycles.length = 0;
      for (const u of scc) {
        for (const v of succ(u)) {
          const prev = new Map([[v, null]]);
          const queue = [v];
          while (queue.length && !prev.has(u)) {
            const x = queue.shift();
            for (const y of succ(x)) {
              if (!prev.has(y)) {
                prev.set(y, x);
                queue.push(y);
              }
            }
          }
          const back = [];
          for (let x = u; x !== null; x = prev.get(x)) back.unshift(x);
          const cyc = [u, ...back];
          const body = cyc.slice(0, -1);
          const k = body.indexOf([...body].sort()[0]);
          const canon = [...body.slice(k), ...body.slice(0, k)];
          const key = canon.join('\0');
          if (!seen.has(key)) {
            seen.add(key);
            cycles.push([...canon, canon[0]]);
          }
        }
      }
    }
    cycles.sort((x, y) => x.length - y.length || x.join().localeCompare(y.join()));
    return { nodes: scc, cycles, complete };
  });
}

/** Report lines for the cycles of graph; edgeNote(u, v) returns extra text for an edge or ''. */
function cycleReport(check, graph, edgeNote) {
  if (printGraph === check) {
    for (const [u, m] of [...graph].sort()) for (const v of [...m.keys()].sort()) console.log(`${u} -> ${v}`);
    process.exit(0);
  }
  const lines = [];
  const comps = findCycles(graph);
  let total = 0;
  for (const comp of comps) {
    lines.push(`  ${comp.nodes.length} files in one cycle: ${comp.nodes.join(', ')}`);
    if (!comp.complete) lines.push(`  (more than ${CYCLE_LIMIT} elementary cycles: the shortest cycle through each edge follows)`);
    for (const cyc of comp.cycles) {
      total++;
      lines.push(`    ${cyc.join(' -> ')}`);
      for (let k = 0; k + 1 < cyc.length; k++) {
        const note = edgeNote(cyc[k], cyc[k + 1]);
        if (note) lines.push(`        ${cyc[k]} -> ${cyc[k + 1]}: ${note}`);
      }
    }
  }
  return { lines, total, components: comps.length };
}

const addEdge = (graph, from, to, info) => {
  if (!graph.has(from)) graph.set(from, new Map());
  const m = graph.get(from);
  if (!m.has(to)) m.set(to, []);
  m.get(to).push(info);
};

// ---------------------------------------------------------------- checks

const violations = []; // { check, lines }
const warnings = [];
const summary = [];
const fail = (check, ...lines) => violations.push({ check, lines });

// a) TypeScript imports
if (only.has('a')) {
  const files = walk('lib', (f) => f.endsWith('.ts'));
  const graph = new Map(files.map((f) => [f, new Map()]));
  const patterns = [
    // import ... from '...', import type ... from '...', export ... from '...'
    { re: /\b(import|export)(\s+type\b)?([^'"`;]*?)\bfrom\s*(['"])([^'"\n]+)\4/dg, kind: 'static' },
    // import '...'
    { re: /\bimport\s*(['"])([^'"\n]+)\1/dg, kind: 'side' },
    // import('...') in code or in a type position
    { re: /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/dg, kind: 'dynamic' },
    // require('...'), import x = require('...')
    { re: /\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)/dg, kind: 'require' },
  ];
  const resolveTs = (from, spec) => {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    const noJs = base.replace(/\.(js|mjs|cjs)$/, '');
    const candidates = [base, `${noJs}.ts`, `${base}.ts`, `${base}/index.ts`];
    return candidates.find((c) => c.endsWith('.ts') && isFile(c)) ?? candidates.find((c) => isFile(c)) ?? null;
  };
  let count = 0;
  for (const file of files) {
    // matched on the text with string contents blanked (no match inside a string), specifiers read from the text with them
    const src = read(file);
    const text = strip(src, { js: true, blankStrings: true });
    const full = strip(src, { js: true, blankStrings: false });
    for (const { re, kind } of patterns) {
      for (const m of text.matchAll(re)) {
        let spec;
        let typeOnly = false;
        if (kind === 'static') {
          spec = full.slice(...m.indices[5]);
          const clause = m[3];
          typeOnly = Boolean(m[2]);
          if (!typeOnly) {
            // import { type A, type B } from: type-only when every named binding is, and there is no default/namespace binding
            const braces = clause.match(/^\s*\{([\s\S]*)\}\s*$/);
            if (braces) {
              const names = braces[1]
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean);
              typeOnly = names.length > 0 && names.every((s) => /^type\s/.test(s));
            }
          }
        } else {
          spec = full.slice(...m.indices[2]);
        }
        if (!spec.startsWith('./') && !spec.startsWith('../')) continue;
        const target = resolveTs(file, spec);
        const line = lineOf(text, m.index);
        if (!target) {
          fail('a', `  ${file}:${line}: import '${spec}' does not resolve to a file`);
          continue;
        }
        if (!target.endsWith('.ts')) continue; // JSON and the like: leaves
        count++;
        const how = kind === 'static' ? (typeOnly ? 'type-only' : m[1]) : kind === 'side' ? 'import' : kind;
        addEdge(graph, file, target, { line, how });
      }
    }
  }
  for (const [from, m] of graph) m.delete(from);
  const { lines, total } = cycleReport('a', graph, (u, v) => {
    const infos = graph.get(u).get(v);
    return infos.map((x) => `line ${x.line} (${x.how})`).join(', ');
  });
  if (total) fail('a', `lib import graph: ${total} cycle(s)`, ...lines);
  summary.push(`a) ${files.length} lib modules, ${count} relative imports${total ? `, ${total} cycle(s)` : ', acyclic'}`);
}

// b) C includes
const nativeAll = only.has('b') || only.has('c') || only.has('e') ? walk('native', (f) => /\.(c|cc|h)$/.test(f)) : [];
if (only.has('b')) {
  const graph = new Map(nativeAll.map((f) => [f, new Map()]));
  let count = 0;
  for (const file of nativeAll) {
    const text = strip(read(file), { js: false, blankStrings: false });
    for (const m of text.matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"/gm)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
      const line = lineOf(text, m.index);
      if (!isFile(target)) {
        fail('b', `  ${file}:${line}: #include "${m[1]}" does not resolve relative to the file (${target})`);
        continue;
      }
      count++;
      if (target !== file) addEdge(graph, file, target, { line });
    }
  }
  const { lines, total } = cycleReport('b', graph, () => '');
  if (total) fail('b', `native include graph: ${total} cycle(s)`, ...lines);
  summary.push(`b) ${nativeAll.length} native files, ${count} quoted includes${total ? `, ${total} cycle(s)` : ', acyclic'}`);
}

// c) C call graph between .c/.cc files
if (only.has('c')) {
  const sources = nativeAll.filter((f) => /\.(c|cc)$/.test(f) && !excludedNative(f));
  // macros whose body says static (INL = static inline ...) mark a definition static too
  const staticMacros = new Set(['static']);
  for (const f of nativeAll) {
    for (const m of strip(read(f), { js: false, blankStrings: true }).matchAll(/^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(.*)$/gm)) {
      if (/\bstatic\b/.test(m[2])) staticMacros.add(m[1]);
    }
  }
  const isStatic = (prefix) => prefix.split(/\W+/).some((w) => staticMacros.has(w));

  const parsed = new Map(); // file -> { defs: Map name -> {static, line}, uses: [{ name, line, call }] }
  for (const file of sources) {
    const text = strip(read(file), { js: false, blankStrings: true });
    // preprocessor lines (with continuations): scanned for uses, kept out of the brace walk
    const pre = [];
    const code = text.replace(/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*/gm, (s, offset) => {
      pre.push({ s, offset });
      return s.replace(/[^\n]/g, ' ');
    });
    const defs = new Map();
    const uses = [];
    for (const { s, offset } of pre) {
      if (/^[ \t]*#[ \t]*include\b/.test(s)) continue;
      for (const m of s.matchAll(/\b(tsr_\w+)\b/g)) uses.push({ name: m[1], line: lineOf(text, offset + m.index), call: true });
    }
    // a file-level object: [static|extern] type tsr_x[...] [= ...] (kernel tables and the like)
    const dataDef = (seg, start) => {
      const m = seg.match(/^([^=(){}]*?)\b(tsr_\w+)\s*(?:\[[^\]]*\]\s*)*(?:=[\s\S]*)?$/);
      if (!m || !/\w/.test(m[1]) || /\b(typedef|extern)\b/.test(m[1]) || /\b(struct|union|enum)\s*$/.test(m[1])) return;
      defs.set(m[2], { static: isStatic(m[1]), line: lineOf(code, start + m.index + m[1].length), data: true });
    };
    // brace walk: depth counts braces other than extern "C" { and namespace x {
    const opened = []; // per open brace: counts toward depth?
    let depth = 0;
    let segStart = 0; // start of the current top-level declaration
    let parens = 0;
    for (let i = 0; i < code.length; i++) {
      const c = code[i];
      if (c === '(') parens++;
      else if (c === ')') parens--;
      else if (c === '{') {
        if (depth === 0) {
          const seg = code.slice(segStart, i);
          if (/\b(extern\s*"[^"]*"|namespace(\s+[\w:]+)?)\s*$/.test(seg)) {
            opened.push(false);
            segStart = i + 1;
            continue;
          }
          const def = seg.match(/\b(tsr_\w+)\s*\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)\s*(?:const\s*)?(?:__attribute__\s*\(\([^;{}]*\)\)\s*)*$/);
          if (def && !/[=]/.test(seg.slice(0, def.index)) && !/\b(typedef|struct|union|enum)\s*$/.test(seg.slice(0, def.index))) {
            defs.set(def[1], { static: isStatic(seg.slice(0, def.index)), line: lineOf(code, segStart + def.index), data: false });
          } else if (/=\s*$/.test(seg)) {
            dataDef(seg, segStart);
          }
        }
        opened.push(true);
        depth++;
      } else if (c === '}') {
        if (opened.pop()) depth--;
        if (depth === 0) segStart = i + 1;
      } else if (c === ';' && depth === 0) {
        if (parens === 0) dataDef(code.slice(segStart, i), segStart);
        segStart = i + 1;
      } else if (/[A-Za-z_]/.test(c) && (i === 0 || !/[\w$]/.test(code[i - 1]))) {
        let j = i;
        while (j < code.length && /\w/.test(code[j])) j++;
        const name = code.slice(i, j);
        if (name.startsWith('tsr_')) {
          let k = j;
          while (k < code.length && /\s/.test(code[k])) k++;
          const call = code[k] === '(';
          // at file level a name is declared or defined, except in an initializer (after '=')
          if (depth > 0 || code.slice(segStart, i).includes('=')) uses.push({ name, line: lineOf(code, i), call });
        }
        i = j - 1;
      }
    }
    parsed.set(file, { defs, uses });
  }
  const definers = new Map(); // public function or object -> [{ file, data }]
  for (const [file, { defs }] of parsed) {
    for (const [name, d] of defs) {
      if (d.static) continue;
      if (!definers.has(name)) definers.set(name, []);
      definers.get(name).push({ file, data: d.data });
    }
  }
  // A function defined in more than one file is one implementation per build
  // target (tsr_secmem_alloc: secmem/ in the addon, wasm/ in the module): with
  // sources.json's targets known, an edge joins files that share a target.
  const targetsOf = new Map(); // file -> Set of targets
  try {
    const json = JSON.parse(read('native/sources.json'));
    for (const [target, groups] of Object.entries(json.targets ?? {})) {
      for (const g of Array.isArray(groups) ? groups : []) {
        for (const f of json.groups?.[g] ?? []) {
          if (!targetsOf.has(f)) targetsOf.set(f, new Set());
          targetsOf.get(f).add(target);
        }
      }
    }
  } catch {
    // no usable sources.json (reported by d): every edge counts
  }
  const linked = (a, b) => !targetsOf.has(a) || !targetsOf.has(b) || [...targetsOf.get(a)].some((t) => targetsOf.get(b).has(t));
  const graph = new Map(sources.map((f) => [f, new Map()]));
  let count = 0;
  for (const [file, { defs, uses }] of parsed) {
    for (const u of uses) {
      if (defs.has(u.name)) continue; // its own (or its own static of the same name)
      for (const { file: target, data } of definers.get(u.name) ?? []) {
        if (target === file || !linked(file, target)) continue;
        if (!graph.get(file).has(target)) count++;
        addEdge(graph, file, target, { ...u, data });
      }
    }
  }
  const { lines, total } = cycleReport('c', graph, (u, v) => {
    const names = new Map();
    for (const x of graph.get(u).get(v)) {
      if (names.has(x.name)) continue;
      const how = x.data ? ' (table)' : x.call ? '()' : ' (address)';
      const others = definers.get(x.name).filter((d) => d.file !== v);
      const where = targetsOf.has(v) ? ` [${[...targetsOf.get(v)].join(', ')}]` : '';
      names.set(
        x.name,
        `${x.name}${how} line ${x.line}${others.length ? ` (this definition${where}; also defined in ${others.map((d) => d.file).join(', ')})` : ''}`,
      );
    }
    return [...names.values()].join(', ');
  });
  if (total) fail('c', `native call graph: ${total} cycle(s)`, ...lines);
  const nData = [...definers.values()].filter((ds) => ds.some((d) => d.data)).length;
  summary.push(
    `c) ${sources.length} .c/.cc files, ${definers.size - nData} tsr_* functions + ${nData} tables, ${count} file edges${total ? `, ${total} cycle(s)` : ', acyclic'}`,
  );
}

// d) native/sources.json
if (only.has('d')) {
  const file = 'native/sources.json';
  let json;
  try {
    json = JSON.parse(read(file));
  } catch (e) {
    fail('d', `  ${file}: ${e.message}`);
  }
  const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
  const isList = (x) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (json !== undefined) {
    if (isObj(json) && isObj(json.groups) && isObj(json.targets)) {
      const errs = [];
      const owner = new Map(); // file -> groups listing it
      for (const [group, list] of Object.entries(json.groups)) {
        const dir = `native/${group}`;
        if (!isList(list)) {
          errs.push(`group "${group}": not a list of file names`);
          continue;
        }
        if (group === '' || group.includes('..') || group.startsWith('/') || !isDir(dir)) errs.push(`group "${group}": ${dir} is not a directory`);
        const want = isDir(dir)
          ? fs
              .readdirSync(abs(dir), { withFileTypes: true })
              .filter((e) => e.isFile() && /\.(c|cc)$/.test(e.name))
              .map((e) => `${dir}/${e.name}`)
              .sort()
          : [];
        const seen = new Set();
        for (const f of list) {
          if (seen.has(f)) {
            errs.push(`group "${group}": ${f} listed twice`);
            continue;
          }
          seen.add(f);
          if (!owner.has(f)) owner.set(f, []);
          owner.get(f).push(group);
          if (!isFile(f)) errs.push(`group "${group}": ${f} does not exist`);
          else if (!want.includes(f)) errs.push(`group "${group}": ${f} is not a .c/.cc file directly in ${dir}/`);
        }
        for (const f of want) if (!seen.has(f)) errs.push(`group "${group}": ${f} is in ${dir}/ but not in the list`);
      }
      const all = walk('native', (f) => /\.(c|cc)$/.test(f)).filter((f) => !excludedNative(f));
      for (const f of all) {
        const groups = owner.get(f) ?? [];
        if (groups.length === 0) errs.push(`${f} is in no group`);
        else if (groups.length > 1) errs.push(`${f} is in ${groups.length} groups: ${groups.join(', ')}`);
      }
      for (const [target, list] of Object.entries(json.targets)) {
        if (!isList(list)) {
          errs.push(`target "${target}": not a list of group names`);
          continue;
        }
        for (const g of list) if (!Object.hasOwn(json.groups, g)) errs.push(`target "${target}": no group "${g}"`);
      }
      if (errs.length) fail('d', `${file}: ${errs.length} problem(s)`, ...errs.map((e) => `  ${e}`));
      summary.push(
        `d) sources.json: ${Object.keys(json.groups).length} groups, ${Object.keys(json.targets).length} targets${errs.length ? `, ${errs.length} problem(s)` : ', consistent'}`,
      );
    } else if (isObj(json) && Object.entries(json).every(([k, v]) => k === 'comment' || isList(v))) {
      fail('d', `${file}: old flat shape ({ "<group>": [files] }); expected { "groups": { "<dir>": [files] }, "targets": { "<target>": [groups] } }`);
      summary.push('d) sources.json: old flat shape');
    } else {
      fail('d', `${file}: unknown shape; expected { "groups": { "<dir>": [files] }, "targets": { "<target>": [groups] } }`);
      summary.push('d) sources.json: unknown shape');
    }
  }
}

// e) file sizes
if (only.has('e')) {
  const files = [...walk('lib', (f) => f.endsWith('.ts')), ...nativeAll.filter((f) => !excludedNative(f))];
  const over = [];
  for (const f of files) {
    const text = read(f);
    const lines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines >= WARN_LINES) over.push({ f, lines });
  }
  over.sort((x, y) => y.lines - x.lines);
  const failing = over.filter((x) => x.lines > FAIL_LINES);
  const warning = over.filter((x) => x.lines <= FAIL_LINES);
  if (failing.length) fail('e', `files over ${FAIL_LINES} lines: ${failing.length}`, ...failing.map((x) => `  ${x.f}: ${x.lines} lines`));
  for (const x of warning) warnings.push(`e) ${x.f}: ${x.lines} lines (limit ${WARN_LINES}, fails above ${FAIL_LINES})`);
  summary.push(`e) ${files.length} files, ${failing.length} over ${FAIL_LINES} lines, ${warning.length} at ${WARN_LINES}-${FAIL_LINES}`);
}

// ---------------------------------------------------------------- report

for (const w of warnings) console.warn(`warning: ${w}`);
if (violations.length) {
  const names = { a: 'a) lib imports', b: 'b) native includes', c: 'c) native call graph', d: 'd) native/sources.json', e: 'e) file sizes' };
  for (const check of ['a', 'b', 'c', 'd', 'e']) {
    const vs = violations.filter((v) => v.check === check);
    if (!vs.length) continue;
    console.error(`\n${names[check]}:`);
    for (const v of vs) for (const l of v.lines) console.error(l.startsWith(' ') ? l : `  ${l}`);
  }
  console.error(`\ncheck-structure: FAILED (${[...new Set(violations.map((v) => v.check))].join(', ')}): ${summary.join('; ')}`);
  process.exit(1);
}
console.log(`check-structure: ok: ${summary.join('; ')}`);
