import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../src/util/projectRoot.js';

// The production image keeps only package.json "dependencies" (`npm prune --omit=dev` in
// .ci/Dockerfile): a package that src/ imports but that is a dev dependency, or only present as
// some other package's dependency, resolves on a developer's machine and is missing in the image.
// TypeScript's own parser reads the imports, so no extra checker (knip, depcheck) is needed.

const root = projectRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The module specifiers a file loads at run time: static imports and re-exports that are not type-only, `import()` and `require()`. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause && (clause.isTypeOnly || (!clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteralLike(node.arguments[0]!)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) found.push((node.arguments[0] as ts.StringLiteralLike).text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('production code imports only declared production dependencies', () => {
  const builtins = new Set(builtinModules);
  const declared = new Set(Object.keys(pkg.dependencies));

  it('finds the imports it checks (the parser sees static, dynamic and re-exports)', () => {
    const all = tsFiles(join(root, 'src')).flatMap(runtimeImports);
    expect(all).toEqual(expect.arrayContaining(['graphql-yoga', '@graphql-yoga/render-graphiql', './auth/index.js']));
  });

  it('every package imported by src/ is in package.json "dependencies" or is a Node built-in', () => {
    const undeclared: string[] = [];
    for (const file of tsFiles(join(root, 'src'))) {
      for (const specifier of runtimeImports(file)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
        if (!declared.has(packageOf(specifier))) undeclared.push(`${relative(root, file)} imports "${specifier}"`);
      }
    }
    expect(undeclared).toEqual([]);
  });
});
