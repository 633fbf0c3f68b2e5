#!/usr/bin/env node
/**
 * Reports import cycles between the TypeScript files under a directory (default src/), type-only
 * imports included: a type import back into a module still ties the two together. Exits 1 when
 * there is a cycle. Usage: node scripts/import-cycles.mjs [dir] [--runtime] (--runtime: leave out
 * `import type` and `export type`, i.e. the imports that survive compilation).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const runtimeOnly = args.includes('--runtime');
const root = resolve(args.find((a) => !a.startsWith('--')) ?? 'src');

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

// Static imports and re-exports (`import … from`, `import '…'`, `export … from`), and dynamic import('…').
const IMPORT =
  /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

const graph = new Map();
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4];
    if (!spec.startsWith('.')) continue;
    if (runtimeOnly && m[2] !== undefined) continue;
    deps.add(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  graph.set(
    file,
    [...deps].filter((d) => d !== file),
  );
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const components = [];
function visit(v) {
  state.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!state.has(w)) {
      visit(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) components.push(component);
  }
}
for (const v of graph.keys()) if (!state.has(v)) visit(v);

const name = (f) => relative(process.cwd(), f);
console.log(
  `${graph.size} files under ${name(root) || '.'}${runtimeOnly ? ' (runtime imports only)' : ' (type imports included)'}: ${components.length} import cycle(s)`,
);
for (const c of components) {
  console.log(`cycle of ${c.length} files:`);
  for (const f of c.sort())
    console.log(
      `  ${name(f)} -> ${(graph.get(f) ?? [])
        .filter((d) => c.includes(d))
        .map(name)
        .join(', ')}`,
    );
}
process.exit(components.length === 0 ? 0 : 1);
