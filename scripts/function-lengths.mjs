#!/usr/bin/env node
/**
 * Lists the functions and methods of the TypeScript files under a directory (default src/) that
 * are longer than a number of lines (default 100), longest first, from the compiler's own parse
 * (so a brace in a string or a regular expression does not fool it). A nested function counts in
 * its parent's lines too. Usage: node scripts/function-lengths.mjs [dir] [--over N]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const overAt = args.indexOf('--over');
const over = overAt >= 0 ? Number(args[overAt + 1]) : 100;
const root = resolve(args.find((a, i) => !a.startsWith('--') && i !== overAt + 1) ?? 'src');

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function nameOf(node) {
  if (node.name !== undefined) return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  // An arrow function or function expression takes the name of what it is assigned to.
  const parent = node.parent;
  if (parent !== undefined && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
    return parent.name.getText();
  return '(anonymous)';
}

const rows = [];
for (const file of files(root)) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > over)
        rows.push({ lines, where: `${relative(process.cwd(), file)}:${start + 1}`, name: nameOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
rows.sort((a, b) => b.lines - a.lines);
console.log(`${rows.length} function(s) over ${over} lines under ${relative(process.cwd(), root) || '.'}`);
for (const r of rows) console.log(`${String(r.lines).padStart(5)}  ${r.name}  ${r.where}`);
