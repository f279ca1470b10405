import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { acceptsPath, avmListFile, loadAvmParameterList, parameterPaths } from './avm-params';
import { infraFiles, moduleSource, parseBicep, repoRoot, syntaxErrors } from './bicep';
import {
  avmParameterNames,
  lambdaInCollectionAccess,
  rules,
  unsafeDeployerAccess,
  type Finding,
  type Rule,
} from './bicep-rules';

const fixture = async (name: string) => {
  const file = await parseBicep(join('test/infra/fixtures', name));
  assert.deepEqual(syntaxErrors(file), [], `${name} must parse: a rule is proven on valid Bicep`);
  return file;
};

/** Each rule fires on its fixture, with exactly these findings (by line, and a part of the message). */
async function assertFindings(rule: Rule, name: string, expected: Array<[line: number, text: string]>) {
  const line = (f: Finding) => Number(f.at.split(':').at(-1));
  const findings: Finding[] = (await rule.check(await fixture(name))).sort((a, b) => line(a) - line(b));
  assert.deepEqual(
    findings.map((f) => f.at),
    expected.map(([line]) => `test/infra/fixtures/${name}:${line}`),
    JSON.stringify(findings, null, 2),
  );
  expected.forEach(([, text], i) => assert.ok(findings[i].message.includes(text), findings[i].message));
}

describe('Bicep rules: each fires on its fixture', () => {
  it('BCP247: lambda variables inside module collection access (as the compiler groups the lambda body)', async () => {
    await assertFindings(lambdaInCollectionAccess, 'bcp247-lambda-collection-access.bicep', [
      [17, 'dnsZones[i] uses lambda variable(s) i'],
      [19, 'dnsZones[i] uses lambda variable(s) i'],
    ]);
  });

  it('deployer(): userPrincipalName without .? (direct, through a variable, by index); objectId/tenantId pass', async () => {
    await assertFindings(unsafeDeployerAccess, 'deployer-unsafe-access.bicep', [
      [4, 'use .?userPrincipalName'],
      [5, 'use .?userPrincipalName'],
      [6, 'use .?userPrincipalName'],
    ]);
  });

  it('AVM: a parameter, or a key inside one (also from a function), that the pinned version does not declare', async () => {
    await assertFindings(avmParameterNames, 'avm-unknown-parameter.bicep', [
      [5, 'has no parameter roleAssignments[].roleDefinitionId'],
      [13, 'has no parameter zoneRedundancy'],
      [17, 'has no parameter queues[].deadLetterOnExpiry'],
    ]);
  });

  it('AVM: a pinned version without a kept parameter list', async () => {
    await assertFindings(avmParameterNames, 'avm-unlisted-version.bicep', [
      [2, 'no parameter list for br/public:avm/res/service-bus/namespace:0.1.0'],
    ]);
  });
});

describe('Bicep rules: infra/ passes every rule', () => {
  for (const rule of rules) {
    it(rule.name, async () => {
      const findings = await Promise.all((await infraFiles()).map((file) => rule.check(file)));
      assert.deepEqual(findings.flat(), []);
    });
  }
});

describe('AVM parameter lists (test/infra/avm-params/)', () => {
  it('one per pinned module version of infra/, naming its source tag and commit, and no stale ones', async () => {
    const used = new Set<string>();
    for (const file of await infraFiles()) {
      for (const module of file.declarations.filter((d) => d.kind === 'module')) {
        const source = moduleSource(module);
        if (!source.startsWith('br/')) continue;
        const list = loadAvmParameterList(source);
        assert.ok(list, `${file.path}: ${source}`);
        assert.equal(list.module, source);
        assert.equal(list.source.repository, 'Azure/bicep-registry-modules');
        assert.match(list.source.commit, /^[0-9a-f]{40}$/);
        const [, path, version] = /^br\/public:(avm\/.+):(\d+\.\d+\.\d+)$/.exec(source)!;
        assert.equal(list.source.tag, `${path}/${version}`);
        assert.equal(list.source.path, `${path}/main.json`);
        used.add(avmListFile(source)!);
      }
    }
    const listed = (dir: string): string[] =>
      readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? listed(join(dir, entry.name)) : [join(dir, entry.name)],
      );
    assert.deepEqual(listed('test/infra/avm-params').sort(), [...used].sort());
  });

  it('key paths: closed objects list their keys, open ones accept any key below', () => {
    const paths = parameterPaths({
      parameters: {
        name: { type: 'string' },
        sku: { $ref: '#/definitions/sku' },
        queues: { type: 'array', items: { $ref: '#/definitions/queue' } },
        tags: { type: 'object' },
      },
      definitions: {
        sku: { type: 'object', properties: { name: { type: 'string' } } },
        queue: { type: 'object', properties: { name: { type: 'string' }, ttl: { type: 'string' } } },
      },
    });
    assert.deepEqual(paths, [
      'name',
      'queues',
      'queues[].name',
      'queues[].ttl',
      'sku',
      'sku.name',
      'tags',
      'tags.*',
    ]);
    const known = new Set(paths);
    assert.ok(acceptsPath(known, 'queues[].ttl') && acceptsPath(known, 'tags.anything'));
    assert.ok(
      !acceptsPath(known, 'sku.tier') && !acceptsPath(known, 'queues[].size') && !acceptsPath(known, 'x'),
    );
  });

  it('the lists hold what the infra relies on (spot checks against the modules’ sources)', () => {
    const has = (reference: string, path: string) =>
      assert.ok(loadAvmParameterList(reference)?.parameters.includes(path), `${reference}: ${path}`);
    has('br/public:avm/res/service-bus/namespace:0.16.1', 'zoneRedundant');
    has('br/public:avm/res/service-bus/namespace:0.16.1', 'queues[].deadLetteringOnMessageExpiration');
    has('br/public:avm/res/db-for-postgre-sql/flexible-server:0.15.2', 'geoRedundantBackup');
    has('br/public:avm/res/db-for-postgre-sql/flexible-server:0.15.2', 'enableAdvancedThreatProtection');
    has('br/public:avm/res/cache/redis-enterprise:0.5.1', 'database.accessPolicyAssignments[].userObjectId');
    assert.ok(existsSync(join(repoRoot, avmListFile('br/public:avm/res/web/site:0.23.1')!)));
  });
});
