import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findRepoRoot } from '../../local-dev/services/repo-root';

/** npm's own range matcher (the `semver` package, as npm-install-checks uses it for EBADENGINE). */
const semver = createRequire(__filename)('semver') as {
  satisfies(version: string, range: string, options?: { includePrerelease?: boolean }): boolean;
  validRange(range: string): string | null;
  minVersion(range: string): { version: string } | null;
};

/**
 * Production dependencies that declare Node >= 22 yet run on Node 20, where the whole suite runs them. Azure runs
 * Node 22; Node 20 (end of life 2026-04-30) stays supported because the project's machines run it.
 */
const NODE_22_ONLY = new Set([
  '@azure/monitor-opentelemetry', // 1.18.2 and later
  '@azure/monitor-opentelemetry-exporter',
  '@azure/core-process',
]);

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: unknown };
}

const root = findRepoRoot();

/** Every installed production dependency, direct or not, as npm lists it. */
function productionDependencies(): Manifest[] {
  // npm ls exits 1 on a tree it finds fault with (say, a dependency being added right now); its list still holds.
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const folders = [...new Set(ls.stdout.split('\n').filter(Boolean))].filter((folder) => folder !== root);
  assert.ok(folders.length > 0, ls.stderr);
  return folders.map((folder) => JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as Manifest);
}

describe('package.json engines', () => {
  const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  // The running version, and the lowest version of each line the range admits (its floor claims).
  const probes = [
    process.versions.node,
    ...engines.node.split('||').map((set) => semver.minVersion(set)?.version ?? `none in ${set}`),
  ];

  it('admits the Node.js version running the tests', () => {
    assert.ok(semver.satisfies(process.versions.node, engines.node), `${process.version} vs ${engines.node}`);
  });

  it("is met by every production dependency's engines range, on the running Node.js and at each line's floor", () => {
    const unmet: string[] = [];
    const exceptionsSeen = new Set<string>();
    for (const { name, version, engines: wanted } of productionDependencies()) {
      if (typeof wanted?.node !== 'string') continue;
      const range = wanted.node;
      if (!semver.validRange(range)) {
        unmet.push(`${name}@${version}: unreadable range "${range}"`);
        continue;
      }
      const rejected = probes.filter((v) => !semver.satisfies(v, range, { includePrerelease: true }));
      if (NODE_22_ONLY.has(name) && rejected.length) exceptionsSeen.add(name);
      const counted = NODE_22_ONLY.has(name) ? rejected.filter((v) => !v.startsWith('20.')) : rejected;
      if (counted.length) unmet.push(`${name}@${version} wants node "${range}": not ${counted.join(', ')}`);
    }
    assert.deepEqual(unmet, []);
    // An exception that no longer rejects Node 20 is stale: remove it from NODE_22_ONLY.
    assert.deepEqual(
      [...NODE_22_ONLY].filter((name) => !exceptionsSeen.has(name)),
      [],
    );
  });
});
