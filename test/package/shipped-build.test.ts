import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import { OFFLINE_SETTINGS } from '../support/offline-settings';
import { triggers } from '../../functions/app/triggers';
import { captureRegistration, type AppRegistration } from '../support/functions-core-stand-in';
import { copyShippedTree, remoteBuild, scratchFolder, shippedFiles, type StepResult } from './shipped-tree';

const root = findRepoRoot();

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** The sources a tsconfig compiles, relative to its folder (tsc's own reading of include, exclude and extends). */
function compiledBy(configFile: string): Set<string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) =>
      assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  });
  assert.ok(parsed, configFile);
  return new Set(parsed.fileNames.map((file) => relative(dirname(configFile), file)));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The package a bare module specifier names: `@scope/name` or `name`, without a subpath. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** Found as Node looks for it: node_modules/<name> in the file's folder or one above it, up to the package root. */
function packageFound(name: string, from: string, packageRoot: string): boolean {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return true;
    if (dir === packageRoot || dirname(dir) === dir) return false;
  }
}

describe('npm run build', () => {
  const { scripts, main } = readJson<{ scripts: Record<string, string>; main: string }>(
    join(root, 'package.json'),
  );
  const config = /-p\s+(\S+)/.exec(scripts.build)?.[1];

  it("compiles the package's main and every script azure.yaml's hooks run from dist/", () => {
    assert.ok(config, `no -p <tsconfig> in the build script: ${scripts.build}`);
    const compiled = compiledBy(join(root, config));
    const hookScripts = [
      ...readFileSync(join(root, 'azure.yaml'), 'utf8').matchAll(/\bdist\/([\w./-]+)\.js\b/g),
    ];
    assert.ok(hookScripts.length > 0, 'azure.yaml runs nothing from dist/');
    const needed = [main, ...hookScripts.map(([path]) => path)].map((path) =>
      path.replace(/^dist\/(.*)\.js$/, '$1.ts'),
    );
    assert.deepEqual(
      needed.filter((source) => !compiled.has(source)),
      [],
    );
  });
});

describe('the files azd deploys (the tree minus .funcignore)', () => {
  const files = shippedFiles(root);

  it('hold the app, its build configuration and the lockfile, and none of the tests, tools or local settings', () => {
    for (const file of [
      'functions/index.ts',
      'host.json',
      'package.json',
      'package-lock.json',
      'tsconfig.app.json',
    ])
      assert.ok(files.includes(file), `${file} is not deployed`);
    const notShipped =
      /^(test|bench|chaos|client|docs|infra|local-dev|dist|node_modules)\/|(^|\/)local\.settings\.json$/;
    assert.deepEqual(
      files.filter((file) => notShipped.test(file)),
      [],
    );
  });
});

describe('the deployment package, built as the Flex Consumption remote build does (Oryx: npm install, npm run build, npm run build:azure)', () => {
  // The settings the app needs to load; the Functions host is stood in for (test/support/functions-core-stand-in).
  const env = { PATH: process.env.PATH ?? '', ...OFFLINE_SETTINGS };
  let work: string;
  let app: string;
  let steps: StepResult[];
  let deployed: AppRegistration;

  before(async () => {
    work = mkdtempSync(join(scratchFolder(), 'longhaul-package-'));
    app = join(work, 'app');
    copyShippedTree(root, app);
    steps = await remoteBuild(app);
    const failed = steps.find((step) => step.code !== 0);
    if (failed) throw new Error(`${failed.command} failed (${failed.code}):\n${failed.output.slice(-4000)}`);
    deployed = await captureRegistration(
      join(app, readJson<{ main: string }>(join(app, 'package.json')).main),
      env,
    );
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("compiles the app alone, into the package's main", (t) => {
    const { main } = readJson<{ main: string }>(join(app, 'package.json'));
    assert.ok(existsSync(join(app, main)), `${main} was not built`);
    assert.deepEqual(readdirSync(join(app, 'dist')), ['functions']);
    t.diagnostic(steps.map((step) => `${step.command}: ${step.seconds.toFixed(1)} s`).join('; '));
  });

  it('leaves production dependencies only in node_modules', () => {
    const lock = readJson<{
      packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
    }>(join(app, 'package-lock.json'));
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const present = (path: string) => existsSync(join(app, path, 'package.json'));
    assert.deepEqual(
      entries.filter(([path, entry]) => entry.dev && present(path)).map(([path]) => path),
      [],
      'devDependencies left in node_modules',
    );
    assert.deepEqual(
      entries
        .filter(([path, entry]) => !entry.dev && !entry.optional && !entry.devOptional && !present(path))
        .map(([path]) => path),
      [],
      'production dependencies missing',
    );
  });

  it('finds every package the built code requires in the deployed node_modules', () => {
    const missing = new Set<string>();
    for (const file of filesUnder(join(app, 'dist')).filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(file, 'utf8');
      for (const [, specifier] of code.matchAll(/\b(?:require|import)\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
        if (isBuiltin(specifier)) continue;
        if (!packageFound(packageName(specifier), dirname(file), app))
          missing.add(`${packageName(specifier)} (from ${relative(app, file)})`);
      }
    }
    assert.deepEqual([...missing], []);
  });

  it('registers every trigger of the table with the Functions host, and no other function', () => {
    assert.deepEqual(deployed.functions.map((fn) => fn.name).sort(), triggers.map((t) => t.name).sort());
  });

  it('registers exactly what the tested build registers: same bindings, options and HTTP streaming', async () => {
    // test/local-dev/host/parity.test.ts holds that registration to the trigger table, option by option (routes,
    // methods, anonymous auth, queue and connection, the SDK binding's supportsDeferredBinding, schedules) and to
    // host.json (autoCompleteMessages off for the SDK binding): the same then holds for what is deployed.
    const tested = await captureRegistration(join(__dirname, '..', '..', 'functions', 'index.js'), env);
    assert.deepEqual(deployed, tested);
  });
});
