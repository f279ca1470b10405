import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from './bicep';

/**
 * The parameter names each pinned Azure Verified Module version accepts, kept in test/infra/avm-params/ because the
 * Bicep compiler (which would check them) cannot run here. A list holds key paths: `name`, `queues[].lockDuration`,
 * `skuObject.capacity`; `x.*` marks an object whose keys the module does not declare (any key is accepted there).
 *
 * Regenerate from a clone of Azure/bicep-registry-modules (each release is a tag `avm/res/<module>/<version>`):
 *   node dist/test/infra/avm-params.js <clone> br/public:avm/res/<module>:<version> ...
 */

const AVM = /^br\/public:(avm\/(?:res|ptn|utl)\/[a-z0-9/-]+):(\d+\.\d+\.\d+)$/;
const MAX_DEPTH = 6;

export interface AvmParameterList {
  module: string;
  source: { repository: string; tag: string; commit: string; path: string };
  parameters: string[];
}

/** test/infra/avm-params/res/web/site@0.23.1.json for br/public:avm/res/web/site:0.23.1; undefined if not AVM. */
export function avmListFile(reference: string): string | undefined {
  const match = AVM.exec(reference);
  if (!match) return undefined;
  return join('test/infra/avm-params', `${match[1].replace(/^avm\//, '')}@${match[2]}.json`);
}

export function loadAvmParameterList(reference: string): AvmParameterList | undefined {
  const file = avmListFile(reference);
  if (!file || !existsSync(join(repoRoot, file))) return undefined;
  return JSON.parse(readFileSync(join(repoRoot, file), 'utf8')) as AvmParameterList;
}

/** Whether `path` (e.g. `queues[].lockDuration`) is a key the list declares, or lies anywhere under an open object. */
export function acceptsPath(list: Set<string>, path: string): boolean {
  if (list.has(path)) return true;
  for (let parent = path; ;) {
    const up = parent.replace(/(\.[^.[\]]+|\[\])$/, '');
    if (up === parent) return false;
    if (list.has(`${up}.*`)) return true;
    parent = up;
  }
}

interface Schema {
  type?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema | boolean;
  discriminator?: { propertyName: string; mapping: Record<string, Schema> };
}

interface ArmTemplate {
  parameters: Record<string, Schema>;
  definitions?: Record<string, Schema>;
}

/** Every key path a compiled module (its main.json) declares for its parameters. */
export function parameterPaths(template: ArmTemplate): string[] {
  const paths = new Set<string>();
  const resolve = (schema: Schema): Schema => {
    let current = schema;
    for (let hops = 0; current.$ref && hops < 20; hops++) {
      current = template.definitions?.[current.$ref.replace('#/definitions/', '')] ?? {};
    }
    return current;
  };
  const walk = (raw: Schema, path: string, depth: number) => {
    const schema = resolve(raw);
    const type = schema.type?.toLowerCase();
    if (type === 'array') {
      if (typeof schema.items === 'object') walk(schema.items, `${path}[]`, depth + 1);
      else paths.add(`${path}[].*`);
      return;
    }
    if (type !== 'object' && type !== 'secureobject') return;
    const variants = schema.discriminator
      ? Object.values(schema.discriminator.mapping).map(resolve)
      : [schema];
    const closed = variants.every((v) => v.properties && !v.additionalProperties);
    if (!closed || depth >= MAX_DEPTH) {
      paths.add(`${path}.*`);
      return;
    }
    if (schema.discriminator) paths.add(`${path}.${schema.discriminator.propertyName}`);
    for (const variant of variants) {
      for (const [key, child] of Object.entries(variant.properties ?? {})) {
        paths.add(`${path}.${key}`);
        walk(child, `${path}.${key}`, depth + 1);
      }
    }
  };
  for (const [name, schema] of Object.entries(template.parameters)) {
    paths.add(name);
    walk(schema, name, 0);
  }
  return [...paths].sort();
}

/** Writes the list of one module version from a local clone of Azure/bicep-registry-modules. */
function writeList(clone: string, reference: string): string {
  const match = AVM.exec(reference);
  const file = avmListFile(reference);
  if (!match || !file) throw new Error(`not an AVM reference: ${reference}`);
  const tag = `${match[1]}/${match[2]}`;
  const path = `${match[1]}/main.json`;
  const git = (...args: string[]) => execFileSync('git', ['-C', clone, ...args], { encoding: 'utf8' });
  const commit = git('rev-list', '-n', '1', tag).trim();
  const template = JSON.parse(git('show', `${commit}:${path}`)) as ArmTemplate;
  const list: AvmParameterList = {
    module: reference,
    source: { repository: 'Azure/bicep-registry-modules', tag, commit, path },
    parameters: parameterPaths(template),
  };
  mkdirSync(dirname(join(repoRoot, file)), { recursive: true });
  writeFileSync(join(repoRoot, file), `${JSON.stringify(list, null, 2)}\n`);
  return file;
}

// Only with arguments: the test runner also loads this file, without any.
if (require.main === module && process.argv.length > 3) {
  const [clone, ...references] = process.argv.slice(2);
  for (const reference of references) console.log(writeList(clone, reference));
}
