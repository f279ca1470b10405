import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadSettings } from '../../functions/platform/settings';
import { createPostgresPool } from '../../functions/platform/postgres-pool';
import { CONTAINERS } from '../../functions/storage/blob-store';
import { triggers } from '../../functions/app/triggers';
import {
  callArguments,
  declaration,
  declaredValue,
  Expression,
  infraFile,
  infraFiles,
  moduleBody,
  moduleSource,
  propertyNode,
  repoRoot,
  syntaxErrors,
  valueOf,
  type BicepFile,
  type BicepValue,
} from './bicep';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const json = <T>(path: string) => JSON.parse(read(path)) as T;
type Obj = { [key: string]: BicepValue };

/** The resources declared without a module, and why AVM cannot do them. */
const RAW_RESOURCES: Record<string, string> = {
  // The resource group the modules deploy into.
  'infra/main.bicep:rg': 'Microsoft.Resources/resourceGroups',
  // @onlyIfNotExists (create once, keep the value): the vault module writes its secrets on every provision.
  'infra/app/keyvault.bicep:secrets': 'Microsoft.KeyVault/vaults/secrets',
  // After the module's own: it creates its assignments in parallel, which Azure Managed Redis rejects.
  'infra/app/redis.bicep:deployerAccessPolicy':
    'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments',
  // No Azure Verified Module covers workbooks.
  'infra/app/workbook.bicep:workbook': 'Microsoft.Insights/workbooks',
};

const AVM_REFERENCE = /^br\/public:avm\/(res|ptn|utl)\/[a-z0-9-]+\/[a-z0-9-]+(\/[a-z0-9-]+)*:\d+\.\d+\.\d+$/;

/** Role ids as Microsoft publishes them (shared/notes/azure-facts.md §1.4): the Bicep must use exactly these. */
const ROLE_IDS = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Azure Service Bus Data Owner': '090c5cfd-751d-490a-894a-3ce6f1109419',
  'Azure Service Bus Data Sender': '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  'Azure Service Bus Data Receiver': '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
};
type RoleName = keyof typeof ROLE_IDS;

/**
 * Each Azure SDK the app imports, with the resource module that must grant the app's identity what the calls need.
 * A new SDK import fails the test below until it is added here and to the Bicep.
 */
const SDK_ROLES: Record<string, { file: string; roles: RoleName[] } | 'no data plane'> = {
  // Data Owner covers send, receive and settle, and the Manage right the Functions scale controller needs to read the
  // queue's length through the trigger's connection (ServiceBusConnection, the same identity).
  '@azure/service-bus': { file: 'infra/app/servicebus.bicep', roles: ['Azure Service Bus Data Owner'] },
  // The trigger's SDK-type binding: the host receives, and the worker settles each message through the extension.
  '@azure/functions-extensions-servicebus': {
    file: 'infra/app/servicebus.bicep',
    roles: ['Azure Service Bus Data Owner'],
  },
  // Blob Data Owner also covers getUserDelegationKey (upload SAS URLs) and what the Functions host needs.
  '@azure/storage-blob': { file: 'infra/app/storage.bicep', roles: ['Storage Blob Data Owner'] },
  '@azure/data-tables': { file: 'infra/app/storage.bicep', roles: ['Storage Table Data Contributor'] },
  '@azure/keyvault-secrets': { file: 'infra/app/keyvault.bicep', roles: ['Key Vault Secrets User'] },
  // Telemetry export to Application Insights, whose local authentication is off (functions/platform/telemetry.ts).
  '@azure/monitor-opentelemetry': {
    file: 'infra/app/monitoring.bicep',
    roles: ['Monitoring Metrics Publisher'],
  },
  '@azure/identity': 'no data plane',
  '@azure/functions': 'no data plane',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Azure SDK packages imported by the app's code (functions/). */
function azurePackagesImported(): Set<string> {
  const packages = new Set<string>();
  for (const file of sourceFiles('functions')) {
    for (const match of read(file).matchAll(/from '(@azure\/[a-z0-9-]+)/g)) packages.add(match[1]);
  }
  return packages;
}

/** The role ids a module grants the app's identity through `roleAssignmentsFor([...], identityPrincipalId, ...)`. */
async function identityRoles(file: BicepFile): Promise<string[]> {
  const types = await infraFile('infra/app/types.bicep');
  const roleIds = declaredValue(declaration(types, 'var', 'roles')) as Record<string, string>;
  const [roles, principal] = callArguments(propertyNode(file.root, 'roleAssignments')!);
  assert.equal(principal.text, 'identityPrincipalId', `${file.path}: roles go to the app's identity`);
  return roles.namedChildren.map((role) => roleIds[role!.text.replace(/^roles\./, '')]);
}

/** The app settings api.bicep gives the function app, as literal strings or Bicep expressions. */
async function appSettings(): Promise<Obj> {
  const api = await infraFile('infra/app/api.bicep');
  const local = json<{ Values: Record<string, string> }>('local.settings.example.json').Values;
  const tuning = declaredValue(declaration(api, 'var', 'tuningSettingNames')) as string[];
  return {
    ...Object.fromEntries(tuning.map((name) => [name, local[name]])),
    ...(declaredValue(declaration(api, 'var', 'connectionSettings')) as Obj),
  };
}

/**
 * What a deployed instance would see: literals as they are, AUTH_MODE as main.bicep's default, other expressions
 * replaced by a value of the right shape.
 */
async function deployedEnvironment(settings: Obj): Promise<Record<string, string>> {
  const main = await infraFile('infra/main.bicep');
  const env: Record<string, string> = { WEBSITE_INSTANCE_ID: 'instance-1' };
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'string') env[key] = value;
    else if (key === 'AUTH_MODE') env[key] = declaredValue(declaration(main, 'param', 'authMode')) as string;
    else if (key === 'CORS_ALLOWED_ORIGINS') {
      env[key] = declaredValue(declaration(main, 'param', 'corsAllowedOrigins')) as string;
    } else if (/Uri$|_URL$/.test(key)) env[key] = 'https://resource.example.net/';
    else if (/PORT$/.test(key)) env[key] = '6432';
    else env[key] = `value-of-${key}`;
  }
  return env;
}

describe('infra: Bicep files', () => {
  it('parse without syntax errors (tree-sitter Bicep grammar)', async () => {
    const files = await infraFiles();
    assert.ok(files.length >= 9, 'main.bicep and the modules under app/');
    assert.deepEqual(files.flatMap(syntaxErrors), []);
  });

  it('reference only Azure Verified Modules with pinned versions, or local modules that exist', async () => {
    for (const file of await infraFiles()) {
      for (const module of file.declarations.filter((d) => d.kind === 'module')) {
        const source = moduleSource(module);
        if (source.startsWith('br/')) assert.match(source, AVM_REFERENCE, `${file.path}: ${module.name}`);
        else assert.ok(existsSync(join(repoRoot, dirname(file.path), source)), `${file.path}: ${source}`);
      }
      // Raw resources only where AVM cannot do it; `existing` references are only names.
      for (const resource of file.declarations.filter((d) => d.kind === 'resource')) {
        if (/^resource \w+ '[^']+' existing =/.test(resource.node.text)) continue;
        const type = /^resource \w+ '([^@']+)@/.exec(resource.node.text)?.[1];
        assert.equal(type, RAW_RESOURCES[`${file.path}:${resource.name}`], `${file.path}: ${resource.name}`);
      }
    }
  });

  it('pass each local module exactly the parameters it declares, and every required one', async () => {
    for (const file of await infraFiles()) {
      for (const module of file.declarations.filter((d) => d.kind === 'module')) {
        const source = moduleSource(module);
        if (source.startsWith('br/')) continue;
        const target = await infraFile(join(dirname(file.path), source));
        const params = target.declarations.filter((d) => d.kind === 'param');
        const passed = Object.keys((moduleBody(module).params as Obj) ?? {});
        const declared = params.map((p) => p.name);
        const required = params.filter((p) => p.node.namedChildCount === 2).map((p) => p.name);
        assert.deepEqual(
          passed.filter((p) => !declared.includes(p)),
          [],
          `${module.name}: unknown params`,
        );
        assert.deepEqual(
          required.filter((p) => !passed.includes(p)),
          [],
          `${module.name}: missing params`,
        );
      }
    }
  });

  it('main.parameters.json sets every parameter without a default and names no other', async () => {
    const main = await infraFile('infra/main.bicep');
    const params = main.declarations.filter((d) => d.kind === 'param');
    const given = Object.keys(json<{ parameters: object }>('infra/main.parameters.json').parameters);
    const required = params.filter((p) => p.node.namedChildCount === 2).map((p) => p.name);
    assert.deepEqual(
      required.filter((p) => !given.includes(p)),
      [],
    );
    assert.deepEqual(
      given.filter((p) => !params.some((d) => d.name === p)),
      [],
    );
  });

  it('uses only abbreviations that abbreviations.json defines', async () => {
    const abbreviations = json<Record<string, string>>('infra/abbreviations.json');
    const used = [...(await infraFile('infra/main.bicep')).text.matchAll(/abbrs\.(\w+)/g)].map((m) => m[1]);
    assert.ok(used.length > 5);
    assert.deepEqual(
      used.filter((name) => !(name in abbreviations)),
      [],
    );
  });

  it('azure.yaml deploys one TypeScript function app that Bicep tags for it, and runs the hooks', async () => {
    const azure = parseYaml(read('azure.yaml')) as {
      services: Record<string, { host: string; language: string; project: string }>;
      hooks: Record<string, { posix: { run: string } }>;
    };
    assert.deepEqual(Object.keys(azure.services), ['api']);
    assert.equal(azure.services.api.host, 'function');
    assert.equal(azure.services.api.language, 'ts');
    const site = moduleBody(declaration(await infraFile('infra/app/api.bicep'), 'module', 'site'));
    assert.match(((site.params as Obj).tags as Expression).text, /'azd-service-name': 'api'/);
    assert.match(azure.hooks.postprovision.posix.run, /node dist\/infra\/hooks\/postprovision\.js$/);
    assert.ok(
      existsSync(join(__dirname, '../../infra/hooks/postprovision.js')),
      'the hook is compiled by tsc',
    );
  });
});

describe('infra: app settings hold the settings schema', () => {
  it('give loadSettings everything it needs in deployed mode, all identity-based', async () => {
    const settings = loadSettings(await deployedEnvironment(await appSettings()));
    assert.equal(settings.deployed, true);
    assert.equal(settings.serviceBus.kind, 'identity');
    assert.equal(settings.storage.kind, 'identity');
    assert.equal(settings.postgres.kind, 'params');
    assert.equal(settings.postgres.kind === 'params' && settings.postgres.password, undefined);
    assert.equal(settings.postgres.kind === 'params' && settings.postgres.ssl, true);
    assert.equal(settings.redis?.kind, 'host');
    assert.equal(settings.redis?.kind === 'host' && settings.redis.password, undefined);
    assert.ok(settings.azureClientId && settings.keyVaultUrl);
    assert.equal(settings.webhooks.signingSecret, '@kv:webhook-signing-secret');
    assert.deepEqual(settings.outboundAllowPrivateHosts, []);
  });

  it('AUTH_MODE is apikey or entra, never none', async () => {
    const main = await infraFile('infra/main.bicep');
    const authMode = declaration(main, 'param', 'authMode');
    assert.ok(authMode.decorators.includes("allowed(['apikey', 'entra'])"));
    assert.equal(declaredValue(authMode), 'apikey');
    assert.equal(((await appSettings()).AUTH_MODE as Expression).text, 'authMode');
  });

  it('leave CORS to the app: no platform CORS on the site, CORS_ALLOWED_ORIGINS from main.bicep (empty: off)', async () => {
    const site = moduleBody(declaration(await infraFile('infra/app/api.bicep'), 'module', 'site'));
    assert.equal(((site.params as Obj).siteConfig as Obj).cors, undefined);
    assert.equal(((await appSettings()).CORS_ALLOWED_ORIGINS as Expression).text, 'corsAllowedOrigins');
    assert.equal(
      declaredValue(declaration(await infraFile('infra/main.bicep'), 'param', 'corsAllowedOrigins')),
      '',
    );
  });

  it('names only settings the code reads (or the Functions platform does)', async () => {
    const schema = read('functions/platform/settings.ts');
    const platform =
      /^(AzureWebJobsStorage__\w+|AzureWebJobsDisableHomepage|APPLICATIONINSIGHTS_AUTHENTICATION_STRING|ServiceBusConnection__credential)$/;
    for (const key of Object.keys(await appSettings())) {
      if (platform.test(key)) continue;
      assert.match(schema, new RegExp(`\\b${key}: `), `${key} is not in the settings schema`);
    }
  });

  it('cover every local setting, through its identity-based form where locally it is a connection string', async () => {
    const deployedAs: Record<string, string | null> = {
      AzureWebJobsStorage: 'AzureWebJobsStorage__blobServiceUri',
      ServiceBusConnection: 'ServiceBusConnection__fullyQualifiedNamespace',
      TASKS_STORAGE: 'TASKS_STORAGE__blobServiceUri',
      DATABASE_URL: 'PGHOST',
      REDIS_URL: 'REDIS_HOST',
      // Flex Consumption takes the runtime from functionAppConfig and rejects this setting.
      FUNCTIONS_WORKER_RUNTIME: null,
      // Refused by the code when deployed (private addresses are for local tests only).
      OUTBOUND_ALLOW_PRIVATE_HOSTS: null,
      // Deployed telemetry goes to Application Insights.
      OTEL_EXPORTER_OTLP_ENDPOINT: null,
      // Deployed apps authenticate every request.
      ALLOW_UNAUTHENTICATED: null,
      // A deployment always has Redis.
      LOCAL_WITHOUT_REDIS: null,
    };
    const settings = await appSettings();
    for (const key of Object.keys(json<{ Values: object }>('local.settings.example.json').Values)) {
      const expected = key in deployedAs ? deployedAs[key] : key;
      if (expected) assert.ok(expected in settings, `${key} → ${expected}`);
      else assert.ok(!(key in settings), `${key} must not be set in Azure`);
    }
    for (const forbidden of [
      'FUNCTIONS_EXTENSION_VERSION',
      'FUNCTIONS_WORKER_RUNTIME',
      'OUTBOUND_ALLOW_PRIVATE_HOSTS',
    ]) {
      assert.ok(!(forbidden in settings), forbidden);
    }
  });

  it('the always-ready worker and the queue are the trigger table’s', async () => {
    const api = await infraFile('infra/app/api.bicep');
    const worker = triggers.find((t) => t.kind === 'serviceBus');
    assert.ok(worker && worker.kind === 'serviceBus');
    assert.equal(declaredValue(declaration(api, 'var', 'workerFunctionName')), worker.name);
    assert.equal(worker.queueName, '%TASKS_QUEUE%');
    assert.equal(worker.connection, 'ServiceBusConnection');
    const main = await infraFile('infra/main.bicep');
    assert.equal(declaredValue(declaration(main, 'var', 'tasksQueueName')), 'tasks');
    assert.equal(((await appSettings()).TASKS_QUEUE as Expression).text, 'tasksQueueName');
  });
});

describe('infra: access for every Azure service the code calls', () => {
  it('each Azure SDK the app imports has its roles on the resource, for the app identity', async () => {
    for (const pkg of azurePackagesImported()) {
      const needs = SDK_ROLES[pkg];
      assert.ok(
        needs,
        `${pkg} is imported by functions/ but has no role mapping in infra (add it to SDK_ROLES)`,
      );
      if (needs === 'no data plane') continue;
      const granted = await identityRoles(await infraFile(needs.file));
      for (const role of needs.roles) assert.ok(granted.includes(ROLE_IDS[role]), `${needs.file}: ${role}`);
    }
  });

  it('telemetry: Monitoring Metrics Publisher, with local authentication off', async () => {
    const monitoring = await infraFile('infra/app/monitoring.bicep');
    assert.deepEqual(await identityRoles(monitoring), [ROLE_IDS['Monitoring Metrics Publisher']]);
    assert.equal(valueOf(propertyNode(monitoring.root, 'disableLocalAuth')!), true);
    const auth = (await appSettings()).APPLICATIONINSIGHTS_AUTHENTICATION_STRING as Expression;
    assert.equal(auth.text, "'ClientId=${identityClientId};Authorization=AAD'");
  });

  it('grants no more than needed: no Owner or Contributor; Data Owner only on Blob and Service Bus (above)', async () => {
    const types = declaredValue(declaration(await infraFile('infra/app/types.bicep'), 'var', 'roles')) as Obj;
    const allowed = new Set([...Object.values(ROLE_IDS), 'ba92f5b4-2d11-453d-a403-e96b0029c9fe']);
    assert.deepEqual(
      Object.values(types).filter((id) => !allowed.has(id as string)),
      [],
    );
  });

  it('Postgres and Redis sign the identity in with Entra ID; shared keys and SAS are off', async () => {
    const settings = await appSettings();
    assert.equal((settings.PGUSER as Expression).text, 'identityName');
    assert.equal((settings.REDIS_USERNAME as Expression).text, 'identityPrincipalId');
    const redis = await infraFile('infra/app/redis.bicep');
    assert.equal(valueOf(propertyNode(redis.root, 'accessKeysAuthentication')!), 'Disabled');
    const assignments = valueOf(propertyNode(redis.root, 'accessPolicyAssignments')!) as Obj[];
    assert.equal(assignments.length, 1, 'one per module call: the module creates its list in parallel');
    assert.equal((assignments[0].userObjectId as Expression).text, 'identityPrincipalId');
    const postgres = await infraFile('infra/app/postgres.bicep');
    assert.deepEqual(valueOf(propertyNode(postgres.root, 'authConfig')!), {
      activeDirectoryAuth: 'Enabled',
      passwordAuth: 'Disabled',
      tenantId: new Expression('tenant().tenantId'),
    });
    const storage = await infraFile('infra/app/storage.bicep');
    assert.equal(valueOf(propertyNode(storage.root, 'allowSharedKeyAccess')!), false);
    const serviceBus = await infraFile('infra/app/servicebus.bicep');
    assert.equal(valueOf(propertyNode(serviceBus.root, 'disableLocalAuth')!), true);
    const keyVault = await infraFile('infra/app/keyvault.bicep');
    assert.equal(valueOf(propertyNode(keyVault.root, 'enableRbacAuthorization')!), true);
  });

  it('Redis access policies are assigned one after another: the deployer’s waits for the module (with the app’s)', async () => {
    const redis = await infraFile('infra/app/redis.bicep');
    const deployerPolicy = declaration(redis, 'resource', 'deployerAccessPolicy');
    const body = moduleBody(deployerPolicy);
    assert.deepEqual(body.dependsOn, [new Expression('cache')]);
    assert.equal(
      (((body.properties as Obj).user as Obj).objectId as Expression).text,
      'deployer.principalId',
    );
    assert.match(deployerPolicy.node.text, /= if \(deployer\.enabled\)/);
    // The same database the module creates.
    const database = (moduleBody(declaration(redis, 'module', 'cache')).params as Obj).database as Obj;
    assert.equal((database.name as Expression).text, 'databaseName');
    assert.match(declaration(redis, 'resource', 'cluster').node.text, /name: databaseName/);
  });

  it('main.bicep hands every module the one identity', async () => {
    const main = await infraFile('infra/main.bicep');
    for (const module of main.declarations.filter((d) => d.kind === 'module')) {
      const params = (moduleBody(module).params ?? {}) as Obj;
      if ('identityPrincipalId' in params) {
        assert.equal((params.identityPrincipalId as Expression).text, 'identity.outputs.principalId');
      }
    }
  });
});

describe('infra: storage and the queue match the code, the emulator and host.json', () => {
  it('creates the containers and table the code uses, expires payloads and uploads, and allows upload PUTs', async () => {
    const storage = await infraFile('infra/app/storage.bicep');
    const containers = declaredValue(declaration(storage, 'var', 'taskContainers')) as string[];
    assert.deepEqual([...containers].sort(), Object.values(CONTAINERS).sort());
    assert.deepEqual(valueOf(propertyNode(storage.root, 'tables')!), [{ name: 'checkpoints' }]);
    const lifecycle = valueOf(propertyNode(storage.root, 'prefixMatch')!);
    assert.deepEqual(lifecycle, [`${CONTAINERS.payloads}/`, `${CONTAINERS.uploads}/`]);
    const cors = valueOf(propertyNode(storage.root, 'corsRules')!) as Obj[];
    assert.ok((cors[0].allowedMethods as string[]).includes('PUT'));
    assert.equal((cors[0].allowedOrigins as Expression).text, 'corsOrigins');
    // From the app's own origin (the web UI it serves) and every origin allowed to call the API (CORS_ALLOWED_ORIGINS).
    const main = await infraFile('infra/main.bicep');
    const storageParams = moduleBody(declaration(main, 'module', 'storage')).params as Obj;
    assert.equal((storageParams.corsOrigins as Expression).text, 'blobCorsOrigins');
    const origins = (declaredValue(declaration(main, 'var', 'blobCorsOrigins')) as Expression).text;
    assert.match(origins, /'https:\/\/\$\{functionAppName\}\.azurewebsites\.net'/);
    assert.match(origins, /split\(corsAllowedOrigins, ','\)/);
    assert.match(origins, /uploadCorsOrigins/);
  });

  it('the tasks queue takes its properties from local-dev/servicebus-config.json, but keeps messages 14 days in Azure', async () => {
    const serviceBus = await infraFile('infra/app/servicebus.bicep');
    assert.match(serviceBus.text, /loadJsonContent\('\.\.\/\.\.\/local-dev\/servicebus-config\.json'\)/);
    assert.ok(existsSync(join(repoRoot, 'infra/app', '../../local-dev/servicebus-config.json')));
    const emulator = json<{
      UserConfig: { Namespaces: { Queues: { Name: string; Properties: Record<string, unknown> }[] }[] };
    }>('local-dev/servicebus-config.json');
    const tasks = emulator.UserConfig.Namespaces[0].Queues.find((q) => q.Name === 'tasks')!;
    const queue = (valueOf(propertyNode(serviceBus.root, 'queues')!) as Obj[])[0];
    assert.equal((queue.name as Expression).text, 'queueName');
    // The emulator's schema caps the time to live at PT1H; a queued or scheduled (retry) message may wait longer, so
    // Azure keeps messages 14 days and dead-letters, rather than drops, those that expire.
    const azureOnly: Record<string, BicepValue> = {
      DefaultMessageTimeToLive: new Expression('azureMessageTimeToLive'),
      DeadLetteringOnMessageExpiration: true,
    };
    assert.equal(declaredValue(declaration(serviceBus, 'var', 'azureMessageTimeToLive')), 'P14D');
    assert.equal(tasks.Properties.DefaultMessageTimeToLive, 'PT1H', 'docs/deploy.md names both values');
    for (const [name, value] of Object.entries(tasks.Properties)) {
      if (value === '') continue; // ForwardTo and ForwardDeadLetteredMessagesTo: not forwarded
      const property = name[0].toLowerCase() + name.slice(1);
      if (name in azureOnly) assert.deepEqual(queue[property], azureOnly[name], property);
      else assert.equal((queue[property] as Expression | undefined)?.text, `emulatorQueue.${name}`, property);
    }
  });

  it('Standard Service Bus is not zone-redundant (the module’s default needs Premium)', async () => {
    const serviceBus = await infraFile('infra/app/servicebus.bicep');
    const params = moduleBody(declaration(serviceBus, 'module', 'namespace')).params as Obj;
    assert.equal((params.zoneRedundant as Expression).text, "skuName == 'Premium'");
  });

  it('Postgres: no geo-redundant backup and no Advanced Threat Protection (the module turns both on)', async () => {
    const postgres = await infraFile('infra/app/postgres.bicep');
    const params = moduleBody(declaration(postgres, 'module', 'server')).params as Obj;
    assert.equal(params.geoRedundantBackup, 'Disabled');
    assert.equal(params.enableAdvancedThreatProtection, false);
  });

  it('the message lock stays within Azure’s 5 minutes and the host renews it for the whole slice', () => {
    const emulator = read('local-dev/servicebus-config.json');
    const lock = /"LockDuration": "PT(\d+)M"/.exec(emulator);
    assert.ok(lock && Number(lock[1]) <= 5);
    const host = json<{ extensions: { serviceBus: { maxAutoLockRenewalDuration: string } } }>('host.json');
    const [h, m, s] = host.extensions.serviceBus.maxAutoLockRenewalDuration.split(':').map(Number);
    const slice = Number(
      json<{ Values: Record<string, string> }>('local.settings.example.json').Values.SLICE_BUDGET_SECONDS,
    );
    assert.ok(h * 3600 + m * 60 + s > slice);
  });
});

describe('infra: Postgres connections fit PgBouncer', () => {
  it('maximum instances x the per-instance pool is what PgBouncer accepts, and the app uses port 6432', async () => {
    const main = await infraFile('infra/main.bicep');
    const pool = createPostgresPool({
      kind: 'params',
      host: 'h',
      port: 6432,
      user: 'u',
      database: 'd',
      ssl: true,
    });
    await pool.end();
    assert.equal(declaredValue(declaration(main, 'var', 'postgresPoolSizePerInstance')), pool.options.max);
    const postgresParams = moduleBody(declaration(main, 'module', 'postgres')).params as Obj;
    assert.equal(
      (postgresParams.pgbouncerMaxClientConnections as Expression).text,
      'maximumInstanceCount * postgresPoolSizePerInstance',
    );
    // PgBouncer on Azure is documented to scale to 10,000 client connections.
    const maxInstances = declaration(main, 'param', 'maximumInstanceCount').decorators;
    const bound = Number(/maxValue\((\d+)\)/.exec(maxInstances.join())![1]);
    assert.ok(bound * pool.options.max! <= 10_000);
    const apiParams = moduleBody(declaration(main, 'module', 'api')).params as Obj;
    assert.equal((apiParams.postgresPort as Expression).text, 'pgbouncerEnabled ? 6432 : 5432');
    assert.equal(
      (declaredValue(declaration(main, 'var', 'pgbouncerEnabled')) as Expression).text,
      "postgresTier != 'Burstable'",
    );
  });
});

describe('infra: no secret or connection string in app settings or outputs', () => {
  const secretLike =
    /listKeys|listConnectionStrings|AccountKey=|SharedAccessKey|Password=|primaryKey|secondaryKey|outputs\.(primary|secondary)/i;

  it('app settings hold endpoints, names and Key Vault references only', async () => {
    const settings = await appSettings();
    for (const [key, value] of Object.entries(settings)) {
      const text = value instanceof Expression ? value.text : String(value);
      assert.doesNotMatch(text, secretLike, key);
      assert.doesNotMatch(
        key,
        /^(PGPASSWORD|REDIS_PASSWORD|DATABASE_URL|REDIS_URL|ServiceBusConnection|TASKS_STORAGE|AzureWebJobsStorage)$/,
      );
      if (/SECRET/.test(key)) assert.match(text, /^@kv:[a-z-]+$/, key);
    }
    // The one connection string is Application Insights', which ingests nothing without an Entra token here.
    assert.equal(
      (settings.APPLICATIONINSIGHTS_CONNECTION_STRING as Expression).text,
      'applicationInsightsConnectionString',
    );
  });

  it('no output is secure or carries a key; secrets flow only into Key Vault', async () => {
    for (const file of await infraFiles()) {
      assert.doesNotMatch(file.text, /outputs\.\??(primary|secondary)/, file.path);
      for (const output of file.declarations.filter((d) => d.kind === 'output')) {
        assert.ok(!output.decorators.includes('secure()'), `${file.path}: ${output.name}`);
        assert.doesNotMatch(output.node.text, secretLike, `${file.path}: ${output.name}`);
        const connectionString = /connectionstring/i.test(output.node.text);
        assert.ok(
          !connectionString || file.path === 'infra/app/monitoring.bicep',
          `${file.path}: ${output.name}`,
        );
      }
    }
    for (const file of await infraFiles()) {
      const secure = file.declarations.filter((d) => d.kind === 'param' && d.decorators.includes('secure()'));
      if (file.path !== 'infra/app/keyvault.bicep') assert.deepEqual(secure, [], file.path);
    }
  });

  it('secrets are made in the deployment on first create only, and never read by azd', async () => {
    const keyVault = await infraFile('infra/app/keyvault.bicep');
    const secure = keyVault.declarations.filter(
      (d) => d.kind === 'param' && d.decorators.includes('secure()'),
    );
    assert.deepEqual(secure.map((d) => d.name).sort(), [
      'apiKeyPepper',
      'streamTokenSecret',
      'webhookSigningSecret',
    ]);
    const secrets = declaration(keyVault, 'resource', 'secrets');
    // Existing secrets are left alone (their values survive every later provision) ...
    assert.ok(secrets.decorators.includes('onlyIfNotExists()'));
    const names = [...secrets.node.text.matchAll(/name: '([a-z-]+)', value: (\w+)/g)].map((m) => [
      m[1],
      m[2],
    ]);
    const settings = await appSettings();
    const referenced = Object.values(settings).filter((v) => typeof v === 'string' && v.startsWith('@kv:'));
    assert.deepEqual(names.map(([name]) => `@kv:${name}`).sort(), [...referenced].sort());
    for (const param of secure) {
      // ... and new ones get 244 random bits; the value goes nowhere but its secret.
      assert.equal((declaredValue(param) as Expression).text, "'${newGuid()}${newGuid()}'");
      const uses = keyVault.declarations.filter(
        (d) => d !== param && new RegExp(`\\b${param.name}\\b`).test(d.node.text),
      );
      assert.deepEqual(
        uses.map((d) => d.name),
        ['secrets'],
        param.name,
      );
    }
    // Nothing asks azd to read the vault (its secretOrRandomPassword fails the provision on a 403).
    assert.doesNotMatch(read('infra/main.parameters.json'), /secretOrRandomPassword|\$\(/);
  });
});
