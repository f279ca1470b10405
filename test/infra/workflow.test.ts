import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { declaration, infraFile, repoRoot } from './bicep';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = parseYaml(
  readFileSync(join(repoRoot, '.github/workflows/azure-dev.yml'), 'utf8'),
) as Workflow;

/** The index of the first step whose command matches, or -1. */
const stepIndex = (job: Job, command: RegExp) => job.steps.findIndex((s) => s.run && command.test(s.run));

const jobFor = (event: 'pull_request' | 'push'): Job => {
  const jobs = Object.values(workflow.jobs).filter((job) =>
    event === 'pull_request'
      ? job.if === "github.event_name == 'pull_request'"
      : job.if === "github.event_name != 'pull_request'",
  );
  assert.equal(jobs.length, 1, `one job runs on ${event}`);
  return jobs[0];
};

describe('.github/workflows/azure-dev.yml (azd pipeline config’s shape)', () => {
  it('signs in with OIDC federated credentials: id-token write, the azd pipeline variables, no client secret', () => {
    assert.equal(workflow.permissions?.['id-token'], 'write');
    for (const name of [
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_SUBSCRIPTION_ID',
      'AZURE_ENV_NAME',
      'AZURE_LOCATION',
    ]) {
      assert.equal(workflow.env[name], `\${{ vars.${name} }}`, name);
    }
    for (const job of Object.values(workflow.jobs)) {
      const login = job.steps.find((s) => s.run?.includes('azd auth login'));
      assert.ok(login, 'each job signs in with azd');
      assert.match(login.run!, /--federated-credential-provider github/);
      assert.doesNotMatch(login.run!, /client-secret|client-certificate/);
    }
    assert.doesNotMatch(JSON.stringify(workflow), /secrets\.AZURE_/);
  });

  it('passes every infra parameter of main.parameters.json from the repository variables azd pipeline config sets', () => {
    const parameters = readFileSync(join(repoRoot, 'infra/main.parameters.json'), 'utf8');
    // Set by azd itself (the signed-in principal), and by the deploy job (the runner's address).
    const notVariables = new Set(['AZURE_PRINCIPAL_ID', 'DEPLOYER_IP_ADDRESS']);
    const names = [...parameters.matchAll(/\$\{(\w+)/g)].map((m) => m[1]).filter((n) => !notVariables.has(n));
    assert.ok(names.length > 10);
    for (const name of names) assert.equal(workflow.env[name], `\${{ vars.${name} }}`, name);
    const deploy = jobFor('push');
    const ip = stepIndex(deploy, /DEPLOYER_IP_ADDRESS=.*>> "\$GITHUB_ENV"/);
    assert.ok(ip >= 0 && ip < stepIndex(deploy, /^azd up\b/));
  });

  it('runs on pull requests and on pushes to main, with Node 22', () => {
    assert.deepEqual(workflow.on.pull_request?.branches, ['main']);
    assert.deepEqual(workflow.on.push?.branches, ['main']);
    for (const job of Object.values(workflow.jobs)) {
      const node = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
      assert.equal(node?.with?.['node-version'], 22);
      assert.ok(job.steps.some((s) => s.uses?.startsWith('Azure/setup-azd@')));
    }
  });

  it('pull request: builds infra/main.bicep, then previews the provision', () => {
    const job = jobFor('pull_request');
    const build = stepIndex(job, /\b(az bicep|bicep) build\b.*infra\/main\.bicep/);
    const preview = stepIndex(job, /^azd provision --preview\b/);
    assert.ok(build >= 0 && preview > build, JSON.stringify(job.steps));
    assert.ok(stepIndex(job, /azd auth login/) < preview);
    assert.equal(stepIndex(job, /azd (up|deploy)\b|azd provision(?! --preview)/), -1, 'a PR changes nothing');
  });

  it('push to main: azd up (provision and deploy), then the smoke test against the URL Bicep outputs', async () => {
    const job = jobFor('push');
    const up = stepIndex(job, /^azd up\b/);
    const smoke = stepIndex(job, /npm run smoke -- --url /);
    assert.ok(up >= 0 && smoke > up, JSON.stringify(job.steps));
    const run = job.steps[smoke].run!;
    const output = /azd env get-value (\w+)/.exec(run)?.[1];
    assert.ok(output, 'the URL comes from the azd environment');
    declaration(await infraFile('infra/main.bicep'), 'output', output);
    assert.match(run, /--key "\$LONGHAUL_API_KEY"/);
    assert.equal(job.steps[smoke].if, undefined, 'the smoke test always runs after a deploy');
  });
});
