import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { findRepoRoot } from '../../local-dev/services/repo-root';

/**
 * The Bicep files of infra/, parsed with the tree-sitter Bicep grammar (npm `tree-sitter-bicep`, run through
 * `web-tree-sitter`). The Bicep compiler itself cannot be downloaded here, so this checks syntax and structure, not
 * types; bicep-rules.ts adds the compiler limits the syntax tree shows (docs/deploy.md says so).
 */
export const repoRoot = findRepoRoot();

/** A Bicep expression the tests do not evaluate (a reference, call, interpolated string, ...), kept as its text. */
export class Expression {
  constructor(readonly text: string) {}
}

export type BicepValue =
  string | number | boolean | null | Expression | BicepValue[] | { [key: string]: BicepValue };

export interface Declaration {
  kind: 'param' | 'var' | 'output' | 'module' | 'resource';
  name: string;
  /** Decorator calls above the declaration, e.g. `secure()`, `minValue(40)`. */
  decorators: string[];
  node: Node;
}

export interface BicepFile {
  /** Relative to the repository root, e.g. `infra/app/api.bicep`. */
  path: string;
  text: string;
  root: Node;
  declarations: Declaration[];
}

const KINDS: Record<string, Declaration['kind']> = {
  parameter_declaration: 'param',
  variable_declaration: 'var',
  output_declaration: 'output',
  module_declaration: 'module',
  resource_declaration: 'resource',
};

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return bicepFiles(path);
    return entry.name.endsWith('.bicep') ? [path] : [];
  });
}

let parser: Promise<Parser> | undefined;
let parsed: Promise<BicepFile[]> | undefined;

/** One .bicep file (relative to the repository root or absolute), e.g. a rule's fixture. */
export async function parseBicep(path: string): Promise<BicepFile> {
  parser ??= (async () => {
    await Parser.init();
    const created = new Parser();
    created.setLanguage(await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')));
    return created;
  })();
  const file = isAbsolute(path) ? path : join(repoRoot, path);
  const text = readFileSync(file, 'utf8');
  const root = (await parser).parse(text)!.rootNode;
  return { path: relative(repoRoot, file), text, root, declarations: declarationsOf(root) };
}

/** Every .bicep file under infra/, parsed once per test process. */
export function infraFiles(): Promise<BicepFile[]> {
  parsed ??= Promise.all(bicepFiles(join(repoRoot, 'infra')).map(parseBicep));
  return parsed;
}

export async function infraFile(path: string): Promise<BicepFile> {
  const file = (await infraFiles()).find((f) => f.path === path);
  if (!file) throw new Error(`no ${path}`);
  return file;
}

function declarationsOf(root: Node): Declaration[] {
  const result: Declaration[] = [];
  let decorators: string[] = [];
  for (const node of root.namedChildren) {
    if (!node) continue;
    if (node.type === 'decorators') {
      decorators = node.namedChildren.map((d) => d!.text.replace(/^@/, ''));
      continue;
    }
    const kind = KINDS[node.type];
    if (kind) result.push({ kind, name: node.namedChildren[0]!.text, decorators, node });
    decorators = [];
  }
  return result;
}

export function declaration(file: BicepFile, kind: Declaration['kind'], name: string): Declaration {
  const found = file.declarations.find((d) => d.kind === kind && d.name === name);
  if (!found) throw new Error(`${file.path}: no ${kind} ${name}`);
  return found;
}

/** Syntax errors (ERROR or MISSING nodes) with their line, for a readable failure. */
export function syntaxErrors(file: BicepFile): string[] {
  const errors: string[] = [];
  const walk = (node: Node) => {
    if (node.type === 'ERROR' || node.isMissing) {
      errors.push(`${file.path}:${node.startPosition.row + 1}: ${node.text.slice(0, 60)}`);
    }
    for (const child of node.children) if (child) walk(child);
  };
  walk(file.root);
  return errors;
}

/** The string a `module x '<source>'` declaration loads. */
export function moduleSource(module: Declaration): string {
  return valueOf(module.node.namedChildren[1]!) as string;
}

/** The object node after `=` of a module or resource: through `if (...)` and `[for ...: ...]`. */
export function bodyNode(declaration: Declaration): Node {
  let body = declaration.node.namedChildren.filter((c) => c && c.type !== 'comment').at(-1)!;
  if (body.type === 'if_statement') body = body.namedChildren[1]!;
  if (body.type === 'for_statement') body = body.childForFieldName('body')!;
  return body;
}

/** The object after `=` of a module: through `if (...)` and `[for ...: ...]`. */
export function moduleBody(module: Declaration): { [key: string]: BicepValue } {
  return valueOf(bodyNode(module)) as { [key: string]: BicepValue };
}

/** The value node of `key:` directly in an object node (not below it). */
export function objectProperty(object: Node, key: string): Node | undefined {
  const property = object.namedChildren.find(
    (child) => child?.type === 'object_property' && propertyKey(child) === key,
  );
  return property ? property.namedChildren[property.namedChildCount - 1]! : undefined;
}

/** The key of an `object_property` node, quoted (`'azd-service-name'`) or not. */
export function propertyKey(property: Node): string {
  const key = property.namedChildren[0]!;
  return key.type === 'string' ? (valueOf(key) as string) : key.text;
}

/** Every node below `node` (depth first), the node itself first. */
export function* descendants(node: Node): Generator<Node> {
  yield node;
  for (const child of node.namedChildren) if (child) yield* descendants(child);
}

/** The value a param defaults to, a var holds or an output returns (the declaration's last child). */
export function declaredValue(d: Declaration): BicepValue {
  return valueOf(d.node.namedChildren[d.node.namedChildCount - 1]!);
}

/** The value node of `key:` anywhere below `node` (depth first), e.g. a module's `roleAssignments`. */
export function propertyNode(node: Node, key: string): Node | undefined {
  for (const child of node.namedChildren) {
    if (!child) continue;
    if (child.type === 'object_property' && child.namedChildren[0]!.text === key) {
      return child.namedChildren[child.namedChildCount - 1]!;
    }
    const found = propertyNode(child, key);
    if (found) return found;
  }
  return undefined;
}

/** The arguments of a call such as `roleAssignmentsFor([roles.a], identityPrincipalId, [...], deployer)`. */
export function callArguments(node: Node): Node[] {
  if (node.type !== 'call_expression') throw new Error(`not a call: ${node.text}`);
  return node.childForFieldName('arguments')!.namedChildren.filter((n): n is Node => n !== null);
}

/** Literals, objects and arrays become values; every other expression stays an Expression. */
export function valueOf(node: Node): BicepValue {
  switch (node.type) {
    case 'string':
      return node.namedChildren.every((c) => c!.type === 'string_content' || c!.type === 'escape_sequence')
        ? JSON.parse(`"${node.text.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`)
        : new Expression(node.text);
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    case 'array':
      return node.namedChildren.filter((c) => c!.type !== 'comment').map((c) => valueOf(c!));
    case 'object': {
      const result: { [key: string]: BicepValue } = {};
      for (const property of node.namedChildren) {
        if (!property || property.type !== 'object_property') continue;
        result[propertyKey(property)] = valueOf(property.namedChildren[property.namedChildCount - 1]!);
      }
      return result;
    }
    default:
      return new Expression(node.text);
  }
}
