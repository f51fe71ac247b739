/**
 * Enforces the import rules of docs/ARCHITECTURE.md on packages/*\/src:
 *  - which @erofs packages each package may import (format: none; codecs:
 *    format; reader and writer: format, codecs; engine: format, codecs,
 *    reader; oci: format, writer, codecs; cli: any; nobody imports cli);
 *  - no relative import reaching into another package;
 *  - Node built-ins (`node:*`, or bare "fs" etc.) only in writer, oci, cli,
 *    or in files under a src/node/ folder of any package, so format, codecs
 *    and reader stay browser-safe;
 *  - package.json dependencies match the imports: every imported package is
 *    declared, every declared dependency is imported, declared @erofs
 *    dependencies are allowed edges and use workspace:, and tsconfig.json
 *    references every @erofs package the sources import (tsc -b needs it).
 * Imports are found with the TypeScript parser (static, dynamic, type-only,
 * `import x = require()`, `require()`, `import('x')` types, re-exports).
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from './lib/tools.js';

const PACKAGES_DIR = join(REPO_ROOT, 'packages');

/** Allowed @erofs imports per package directory name ('*' = any but cli). */
const ALLOWED: Record<string, readonly string[] | '*'> = {
  format: [],
  codecs: ['format'],
  reader: ['format', 'codecs'],
  writer: ['format', 'codecs'],
  engine: ['format', 'codecs', 'reader'],
  oci: ['format', 'writer', 'codecs'],
  cli: '*',
};
/**
 * "dependencies match the imports" in both directions: also fail on a declared
 * dependency that no source file imports (stale or premature). Skeleton
 * packages that declare their future dependencies fail this until their code
 * lands; set to false to check only undeclared imports and forbidden edges.
 */
const REQUIRE_DEPENDENCIES_USED = true;
/** Packages whose every file may use Node built-ins. */
const NODE_PACKAGES = new Set(['writer', 'oci', 'cli']);
const BUILTINS = new Set(builtinModules);

interface Import {
  spec: string;
  file: string;
  line: number;
  typeOnly: boolean;
}

function walkTs(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== 'node_modules') walkTs(p, out);
    } else if (/\.(m|c)?tsx?$/.test(n)) {
      out.push(p);
    }
  }
  return out;
}

/** Every module specifier a file mentions, with whether the use is type-only. */
function importsOf(file: string): Import[] {
  return importsOfText(file, readFileSync(file, 'utf8'));
}

/** Every module specifier in `text` (TypeScript source named `file`). */
function importsOfText(file: string, text: string): Import[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const add = (node: ts.Node, lit: ts.Node | undefined, typeOnly: boolean): void => {
    if (lit && ts.isStringLiteralLike(lit)) {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      found.push({ spec: lit.text, file, line, typeOnly });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const typeOnly =
        !!c &&
        (c.isTypeOnly ||
          (!c.name &&
            !!c.namedBindings &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.length > 0 &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node, node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(node, arg.literal, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if ((isImport || isRequire) && node.arguments.length > 0) add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

type Kind = { kind: 'node'; name: string } | { kind: 'erofs'; pkg: string } | { kind: 'relative' } | { kind: 'external'; name: string } | { kind: 'absolute' };

function classify(spec: string): Kind {
  if (spec.startsWith('node:')) return { kind: 'node', name: spec };
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') return { kind: 'relative' };
  if (spec.startsWith('/')) return { kind: 'absolute' };
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  if (BUILTINS.has(spec) || BUILTINS.has(name)) return { kind: 'node', name: spec };
  if (name.startsWith('@erofs/')) return { kind: 'erofs', pkg: name.slice('@erofs/'.length) };
  return { kind: 'external', name };
}

interface PackageInfo {
  dir: string;
  name: string;
  json: {
    name?: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  references: string[];
  files: string[];
  imports: Import[];
}

function loadPackages(): PackageInfo[] {
  const out: PackageInfo[] = [];
  for (const dir of readdirSync(PACKAGES_DIR).sort()) {
    const root = join(PACKAGES_DIR, dir);
    if (!existsSync(join(root, 'package.json'))) continue;
    const json = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageInfo['json'];
    let references: string[] = [];
    const tsconfigPath = join(root, 'tsconfig.json');
    if (existsSync(tsconfigPath)) {
      const parsed = ts.parseConfigFileTextToJson(tsconfigPath, readFileSync(tsconfigPath, 'utf8'));
      const refs = (parsed.config?.references ?? []) as Array<{ path: string }>;
      references = refs
        .map((r) => relative(PACKAGES_DIR, resolve(root, r.path)))
        .filter((r) => !r.startsWith('..') && !r.includes(sep));
    }
    const files = walkTs(join(root, 'src'));
    out.push({ dir, name: json.name ?? dir, json, references, files, imports: files.flatMap(importsOf) });
  }
  return out;
}

const packages = loadPackages();
const where = (i: Import): string => `${relative(REPO_ROOT, i.file)}:${i.line}`;

test('every package under packages/ has an import rule', () => {
  const unknown = packages.map((p) => p.dir).filter((d) => !(d in ALLOWED));
  assert.deepEqual(unknown, [], `packages without a rule in docs/ARCHITECTURE.md: ${unknown.join(', ')}`);
  for (const p of packages) assert.equal(p.name, `@erofs/${p.dir}`, `packages/${p.dir}/package.json name`);
});

test('the import scanner sees every kind of import (self-check)', () => {
  const sample = [
    "import a from 'x-default';",
    "import type { B } from 'x-type';",
    "import { type C } from 'x-inline-type';",
    "export * from 'x-reexport';",
    "export type { D } from 'x-type-reexport';",
    "import 'x-side-effect';",
    "const e = await import('x-dynamic');",
    "import f = require('x-import-equals');",
    "const g = require('x-require');",
    "type H = typeof import('x-import-type');",
    "// import nope from 'x-comment';",
    "const s = \"import nope from 'x-string'\";",
  ].join('\n');
  const got = importsOfText('sample.ts', sample).map((i) => `${i.spec}${i.typeOnly ? ' (type)' : ''}`);
  assert.deepEqual(got, [
    'x-default',
    'x-type (type)',
    'x-inline-type (type)',
    'x-reexport',
    'x-type-reexport (type)',
    'x-side-effect',
    'x-dynamic',
    'x-import-equals',
    'x-require',
    'x-import-type (type)',
  ]);
});

describe('import rules', () => {
  for (const p of packages) {
    describe(p.name, () => {
      test('imports only the @erofs packages it may', () => {
        const allowed = ALLOWED[p.dir];
        const bad: string[] = [];
        for (const i of p.imports) {
          const k = classify(i.spec);
          if (k.kind !== 'erofs') continue;
          if (k.pkg === 'cli') bad.push(`${where(i)}: imports ${i.spec} (nothing may import @erofs/cli)`);
          else if (k.pkg === p.dir) bad.push(`${where(i)}: imports itself by name (${i.spec}); use a relative import`);
          else if (allowed !== '*' && !allowed?.includes(k.pkg)) {
            bad.push(`${where(i)}: imports ${i.spec}; @erofs/${p.dir} may import only ${allowed?.length ? allowed.map((a) => '@erofs/' + a).join(', ') : 'nothing'}`);
          }
        }
        assert.deepEqual(bad, []);
      });

      test('relative imports stay inside the package', () => {
        const bad: string[] = [];
        const pkgRoot = join(PACKAGES_DIR, p.dir);
        for (const i of p.imports) {
          const k = classify(i.spec);
          if (k.kind === 'absolute') bad.push(`${where(i)}: absolute import ${i.spec}`);
          if (k.kind !== 'relative') continue;
          const target = resolve(join(i.file, '..'), i.spec);
          if (target !== pkgRoot && !target.startsWith(pkgRoot + sep)) {
            bad.push(`${where(i)}: ${i.spec} reaches outside packages/${p.dir} (import the package by name instead)`);
          }
        }
        assert.deepEqual(bad, []);
      });

      test('Node built-ins only where allowed', () => {
        const bad: string[] = [];
        const nodeDir = join(PACKAGES_DIR, p.dir, 'src', 'node') + sep;
        for (const i of p.imports) {
          if (classify(i.spec).kind !== 'node') continue;
          if (NODE_PACKAGES.has(p.dir) || i.file.startsWith(nodeDir)) continue;
          bad.push(`${where(i)}: imports ${i.spec}; in @erofs/${p.dir} Node modules belong under src/node/`);
        }
        assert.deepEqual(bad, []);
      });

      test('package.json dependencies match the imports', () => {
        const declared = {
          ...p.json.dependencies,
          ...p.json.peerDependencies,
          ...p.json.optionalDependencies,
        };
        const dev = p.json.devDependencies ?? {};
        const imported = new Map<string, Import>(); // package name -> first import
        const importedRuntime = new Set<string>();
        for (const i of p.imports) {
          const k = classify(i.spec);
          const name = k.kind === 'erofs' ? `@erofs/${k.pkg}` : k.kind === 'external' ? k.name : null;
          if (!name || name === p.name) continue;
          if (!imported.has(name)) imported.set(name, i);
          if (!i.typeOnly) importedRuntime.add(name);
        }
        const bad: string[] = [];
        for (const [name, i] of imported) {
          const ok = name in declared || (!importedRuntime.has(name) && name in dev);
          if (!ok) bad.push(`${where(i)}: imports ${name}, which package.json does not declare in dependencies`);
        }
        for (const name of Object.keys(declared).sort()) {
          if (REQUIRE_DEPENDENCIES_USED && !imported.has(name)) bad.push(`package.json declares ${name}, but no file in src/ imports it`);
        }
        for (const [name, version] of Object.entries(declared)) {
          if (!name.startsWith('@erofs/')) continue;
          const dep = name.slice('@erofs/'.length);
          const allowed = ALLOWED[p.dir];
          if (dep === 'cli' || (allowed !== '*' && !allowed?.includes(dep))) {
            bad.push(`package.json declares ${name}, a dependency the import rules forbid for ${p.name}`);
          }
          if (!version.startsWith('workspace:')) bad.push(`package.json: ${name} should be "workspace:*", not "${version}"`);
        }
        assert.deepEqual(bad, []);
      });

      test('tsconfig.json references every imported @erofs package', () => {
        const bad: string[] = [];
        const needed = new Set<string>();
        for (const i of p.imports) {
          const k = classify(i.spec);
          if (k.kind === 'erofs' && k.pkg !== p.dir) needed.add(k.pkg);
        }
        for (const n of [...needed].sort()) {
          if (!p.references.includes(n)) bad.push(`packages/${p.dir}/tsconfig.json lacks { "path": "../${n}" } (src imports @erofs/${n})`);
        }
        const allowed = ALLOWED[p.dir];
        for (const r of p.references) {
          if (r === 'cli' || (allowed !== '*' && !allowed?.includes(r))) {
            bad.push(`packages/${p.dir}/tsconfig.json references ../${r}, which the import rules forbid`);
          }
        }
        assert.deepEqual(bad, []);
      });
    });
  }
});
