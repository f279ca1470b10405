import { dirname, join } from 'node:path';
import type { Node } from 'web-tree-sitter';
import { acceptsPath, avmListFile, loadAvmParameterList } from './avm-params';
import {
  bodyNode,
  declaredValue,
  descendants,
  Expression,
  moduleSource,
  objectProperty,
  parseBicep,
  propertyKey,
  valueOf,
  type BicepFile,
} from './bicep';

/**
 * Compiler limits and module contracts that the syntax tree shows, checked because the Bicep compiler cannot run
 * here: each rule returns what it finds in one file; an empty list means it passes.
 */
export interface Finding {
  rule: string;
  /** `path:line`, for a readable failure. */
  at: string;
  message: string;
}

export interface Rule {
  name: string;
  check(file: BicepFile): Promise<Finding[]>;
}

const at = (file: BicepFile, node: Node) => `${file.path}:${node.startPosition.row + 1}`;

// tree-sitter-bicep binds `.x` and `[i]` tighter than `=>`: `i => mods[i].id` parses as `((i => mods)[i]).id`.
// Bicep's lambda body runs to the end of the expression, so these helpers read the tree the way the compiler does.

const lambdaParameters = (lambda: Node): string[] => {
  const params = lambda.namedChildren[0]!;
  return params.type === 'identifier'
    ? [params.text]
    : params.namedChildren.filter((n) => n?.type === 'identifier').map((n) => n!.text);
};

const lambdaBody = (lambda: Node): Node => lambda.namedChildren[lambda.namedChildCount - 1]!;

/** What a postfix operator written after a lambda's body really applies to: the body's last operand. */
function tailOperand(node: Node): Node {
  switch (node.type) {
    case 'lambda_expression':
      return tailOperand(lambdaBody(node));
    case 'binary_expression':
    case 'unary_expression':
    case 'ternary_expression':
      return tailOperand(node.namedChildren[node.namedChildCount - 1]!);
    default:
      return node;
  }
}

/** The expression a member or subscript access applies to, as the compiler groups it. */
function accessedObject(access: Node): Node {
  const object = access.childForFieldName('object')!;
  return object.type === 'lambda_expression' ? tailOperand(object) : object;
}

/** The lambda variables in scope at `node` (its own lambdas' and every enclosing one's). */
function lambdaVariablesAt(node: Node): Set<string> {
  const names = new Set<string>();
  for (let child = node, parent = node.parent; parent; child = parent, parent = parent.parent) {
    if (parent.type === 'lambda_expression' && child.id === lambdaBody(parent).id) {
      for (const name of lambdaParameters(parent)) names.add(name);
    }
    // A postfix access whose (innermost) object is a lambda is, to the compiler, inside that lambda's body.
    if (
      (parent.type === 'subscript_expression' || parent.type === 'member_expression') &&
      child.id !== parent.childForFieldName('object')?.id
    ) {
      let object = parent.childForFieldName('object');
      while (object && (object.type === 'subscript_expression' || object.type === 'member_expression')) {
        object = object.childForFieldName('object');
      }
      if (object?.type === 'lambda_expression') for (const name of lambdaParameters(object)) names.add(name);
    }
  }
  return names;
}

/** BCP247: a lambda variable inside the index of a resource or module (collection) access. */
export const lambdaInCollectionAccess: Rule = {
  name: 'BCP247 lambda variable in resource/module collection access',
  async check(file) {
    const symbols = new Set(
      file.declarations.filter((d) => d.kind === 'module' || d.kind === 'resource').map((d) => d.name),
    );
    const findings: Finding[] = [];
    for (const node of descendants(file.root)) {
      if (node.type !== 'subscript_expression') continue;
      const object = accessedObject(node);
      if (object.type !== 'identifier' || !symbols.has(object.text)) continue;
      const index = node.childForFieldName('index')!;
      const inScope = lambdaVariablesAt(index);
      const used = [...descendants(index)].filter((n) => n.type === 'identifier' && inScope.has(n.text));
      if (used.length) {
        findings.push({
          rule: this.name,
          at: at(file, node),
          message: `${object.text}[${index.text}] uses lambda variable(s) ${[...new Set(used.map((n) => n.text))].join(', ')}`,
        });
      }
    }
    return findings;
  },
};

/** deployer() always has objectId and tenantId; anything else (userPrincipalName: users only) needs `.?`. */
const DEPLOYER_ALWAYS = new Set(['objectId', 'tenantId']);

export const unsafeDeployerAccess: Rule = {
  name: 'deployer() property without safe access',
  async check(file) {
    // Names that hold deployer() itself, e.g. `var who = deployer()`.
    const aliases = new Set(
      file.declarations
        .filter((d) => d.kind === 'var' || d.kind === 'param')
        .filter((d) => {
          const value = declaredValue(d);
          return value instanceof Expression && /^deployer\(\s*\)$/.test(value.text);
        })
        .map((d) => d.name),
    );
    const isDeployer = (node: Node) =>
      (node.type === 'call_expression' && node.childForFieldName('function')?.text === 'deployer') ||
      (node.type === 'identifier' && aliases.has(node.text));
    const findings: Finding[] = [];
    for (const node of descendants(file.root)) {
      let property: string | undefined;
      let safe = false;
      if (node.type === 'member_expression') {
        property = node.childForFieldName('property')!.text;
        safe = node.children.some((c) => c?.type === '.?');
      } else if (node.type === 'subscript_expression') {
        const index = node.childForFieldName('index')!;
        property = index.type === 'string' ? index.text.slice(1, -1) : index.text;
        safe = node.children.some((c) => c?.type === '?');
      } else continue;
      if (!isDeployer(accessedObject(node)) || safe || DEPLOYER_ALWAYS.has(property)) continue;
      findings.push({
        rule: this.name,
        at: at(file, node),
        message: `${node.text}: deployer() has only objectId and tenantId for every principal; use .?${property}`,
      });
    }
    return findings;
  },
};

/** The user-defined functions a file may call: its own and those it imports from local files (types.bicep). */
async function userFunctions(file: BicepFile): Promise<Map<string, Node>> {
  const functions = new Map<string, Node>();
  const add = (root: Node, only?: string[]) => {
    for (const node of root.namedChildren) {
      if (node?.type !== 'user_defined_function') continue;
      const name = node.namedChildren[0]!.text;
      if (!only || only.includes(name)) functions.set(name, node.namedChildren.at(-1)!);
    }
  };
  add(file.root);
  for (const node of file.root.namedChildren) {
    if (node?.type !== 'import_functionality') continue;
    const source = valueOf(node.namedChildren.at(-1)!);
    if (typeof source !== 'string' || !source.endsWith('.bicep')) continue;
    const names = node.namedChildren.filter((n) => n?.type === 'identifier').map((n) => n!.text);
    add((await parseBicep(join(dirname(file.path), source))).root, names);
  }
  return functions;
}

interface PathWalk {
  out: Array<{ path: string; node: Node }>;
  functions: Map<string, Node>;
  depth: number;
}

/**
 * The key paths a `params: { ... }` value passes, as far as literals show them: object keys, array items (`[]`),
 * both branches of `?:`, the arguments of concat()/union(), the lambda result of map(), and what the file's own or
 * imported functions return (e.g. roleAssignmentsFor() of types.bicep).
 */
function passedPaths(node: Node, prefix: string, walk: PathWalk): void {
  if (walk.depth > 20) return;
  const inner = { ...walk, depth: walk.depth + 1 };
  switch (node.type) {
    case 'object':
      for (const property of node.namedChildren) {
        if (property?.type !== 'object_property') continue;
        const path = prefix ? `${prefix}.${propertyKey(property)}` : propertyKey(property);
        walk.out.push({ path, node: property });
        passedPaths(property.namedChildren[property.namedChildCount - 1]!, path, inner);
      }
      return;
    case 'array': {
      const items = node.namedChildren.filter((n): n is Node => n !== null && n.type !== 'comment');
      for (let i = 0; i < items.length; i++) {
        const [item, following] = [items[i], items[i + 1]];
        // tree-sitter-bicep reads a call that opens an array, `[f(x)]`, as two items `f` and `(x)`: rejoin them.
        if (
          item.type === 'identifier' &&
          following?.type === 'parenthesized_expression' &&
          following.startIndex === item.endIndex
        ) {
          passedCall(item.text, following.namedChildren, `${prefix}[]`, inner);
          i++;
        } else passedPaths(item, `${prefix}[]`, inner);
      }
      return;
    }
    case 'ternary_expression':
      passedPaths(node.childForFieldName('consequence')!, prefix, inner);
      passedPaths(node.childForFieldName('alternative')!, prefix, inner);
      return;
    case 'parenthesized_expression':
      for (const child of node.namedChildren) if (child) passedPaths(child, prefix, inner);
      return;
    case 'call_expression':
      passedCall(
        node.childForFieldName('function')?.text ?? '',
        node.childForFieldName('arguments')!.namedChildren,
        prefix,
        inner,
      );
      return;
  }
}

function passedCall(name: string, argNodes: Array<Node | null>, prefix: string, walk: PathWalk): void {
  const args = argNodes.filter((n): n is Node => n !== null);
  if (name === 'concat' || name === 'union') for (const arg of args) passedPaths(arg, prefix, walk);
  if (name === 'map' && args[1]?.type === 'lambda_expression')
    passedPaths(lambdaBody(args[1]), `${prefix}[]`, walk);
  const body = walk.functions.get(name);
  if (body) passedPaths(body, prefix, walk);
}

/** Every `br/public:avm/...:<version>` module passes only parameters that version declares (test/infra/avm-params/). */
export const avmParameterNames: Rule = {
  name: 'AVM module parameters exist in the pinned version',
  async check(file) {
    const findings: Finding[] = [];
    const functions = await userFunctions(file);
    for (const module of file.declarations.filter((d) => d.kind === 'module')) {
      const source = moduleSource(module);
      if (!source.startsWith('br/public:avm/')) continue;
      const list = loadAvmParameterList(source);
      if (!list) {
        findings.push({
          rule: this.name,
          at: at(file, module.node),
          message: `${module.name}: no parameter list for ${source} (expected ${avmListFile(source) ?? 'a pinned x.y.z version'}; see test/infra/avm-params.ts)`,
        });
        continue;
      }
      const params = objectProperty(bodyNode(module), 'params');
      if (!params) continue;
      const known = new Set(list.parameters);
      const passed: Array<{ path: string; node: Node }> = [];
      passedPaths(params, '', { out: passed, functions, depth: 0 });
      for (const { path, node } of passed) {
        if (acceptsPath(known, path)) continue;
        findings.push({
          rule: this.name,
          at: at(file, node),
          message: `${module.name}: ${source} has no parameter ${path}`,
        });
      }
    }
    return findings;
  },
};

export const rules: Rule[] = [lambdaInCollectionAccess, unsafeDeployerAccess, avmParameterNames];
