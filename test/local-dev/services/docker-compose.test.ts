import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { findRepoRoot } from '../../../local-dev/services/repo-root';

interface Service {
  image: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: object;
}

const root = findRepoRoot();
const readJson = (path: string): unknown => JSON.parse(readFileSync(join(root, path), 'utf8'));
const { services } = parse(readFileSync(join(root, 'local-dev/docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const repository = (image: string) => image.replace(/:[^/:]+$/, '');

/** Images whose product is retired: they get no fixes, and Azure SQL Edge fails to start on newer kernels. */
const RETIRED = new Map([['mcr.microsoft.com/azure-sql-edge', 'Azure SQL Edge, retired on 2025-09-30']]);

/** Where each service's image comes from: the publishers' current repositories. */
const CURRENT = new Set([
  'mcr.microsoft.com/azure-storage/azurite',
  'mcr.microsoft.com/azure-messaging/servicebus-emulator',
  'mcr.microsoft.com/mssql/server',
  'postgres',
  'redis',
  'jaegertracing/all-in-one',
]);

/**
 * The emulator's Config.json schema, copied from Azure/azure-service-bus-emulator-installer
 * (ServiceBus-Emulator/Schema/Config-schema.json; its $comment says which commit).
 */
const emulatorSchema = readJson('local-dev/servicebus-emulator-config.schema.json') as Parameters<
  typeof z.fromJSONSchema
>[0];

/** The JSON Schema keywords the copy uses; z.fromJSONSchema enforces each (a new one needs checking first). */
const KNOWN_KEYWORDS = new Set([
  ...['$schema', '$comment', 'description', 'default', 'examples', 'type', 'properties', 'required', 'items'],
  ...['minItems', 'maxItems', 'minProperties', 'pattern', 'enum', 'minimum', 'maximum'],
]);

function keywordsOf(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const node = schema as Record<string, unknown>;
  const nested = [
    ...Object.values((node.properties as Record<string, unknown> | undefined) ?? {}),
    ...(node.items ? [node.items] : []),
  ];
  return [...Object.keys(node), ...nested.flatMap(keywordsOf)];
}

/** An ISO 8601 duration of days, hours, minutes and seconds (what the emulator's settings use), in seconds. */
function seconds(duration: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  const [d, h, min, s] = m.slice(1).map((n) => Number(n ?? 0));
  return ((d * 24 + h) * 60 + min) * 60 + s;
}

/**
 * The bounds the schema states only in words ("the minimum value is PT5M ... the maximum value is PT1H"), such as
 * the emulator's one-hour cap on message time-to-live: every duration outside them, by path.
 */
function outOfDocumentedRange(schema: unknown, value: unknown, path = ''): string[] {
  const node = (schema ?? {}) as {
    properties?: Record<string, unknown>;
    items?: unknown;
    description?: string;
  };
  if (Array.isArray(value))
    return value.flatMap((item, i) => outOfDocumentedRange(node.items, item, `${path}/${i}`));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, v]) =>
      outOfDocumentedRange(node.properties?.[key], v, `${path}/${key}`),
    );
  const bounds = /minimum value is (P\w+).*maximum value is (P\w+)/.exec(node.description ?? '');
  if (!bounds || typeof value !== 'string') return [];
  const [min, max] = [bounds[1], bounds[2]];
  return seconds(value) < seconds(min) || seconds(value) > seconds(max)
    ? [`${path}: ${value} not in ${min}..${max}`]
    : [];
}

/** Every reason the emulator's schema gives to refuse a Config.json. */
function configProblems(config: unknown): string[] {
  const parsed = z.fromJSONSchema(emulatorSchema).safeParse(config);
  const schemaIssues = parsed.success
    ? []
    : parsed.error.issues.map((i) => `/${i.path.join('/')}: ${i.message}`);
  return [...schemaIssues, ...outOfDocumentedRange(emulatorSchema, config)];
}

interface EmulatorConfig {
  UserConfig: {
    Namespaces: { Name: string; Queues: { Properties: Record<string, unknown> }[] }[];
    Logging?: unknown;
  };
}
const ourConfig = () => readJson('local-dev/servicebus-config.json') as EmulatorConfig;

describe('local-dev/docker-compose.yml', () => {
  it('is well-formed and declares the stack for `func start`', () => {
    const ports = (name: string) => services[name].ports?.map((p) => p.replace(/^127\.0\.0\.1:/, ''));
    assert.deepEqual(ports('azurite'), ['10000:10000', '10001:10001', '10002:10002']);
    assert.ok(
      services.servicebus.volumes?.includes(
        './servicebus-config.json:/ServiceBus_Emulator/ConfigFiles/Config.json',
      ),
    );
    assert.deepEqual(ports('servicebus'), ['5672:5672', '5300:5300']);
    assert.equal(String(services.servicebus.environment?.EMULATOR_HTTP_PORT), '5300');
    assert.deepEqual(ports('postgres'), ['5432:5432']);
    assert.deepEqual(ports('redis'), ['6379:6379']);
    assert.deepEqual(ports('jaeger'), ['4317:4317', '4318:4318', '16686:16686']);
  });

  it('uses no image of a retired product', () => {
    const retired = Object.entries(services)
      .filter(([, s]) => RETIRED.has(repository(s.image)))
      .map(([name, s]) => `${name}: ${RETIRED.get(repository(s.image))}`);
    assert.deepEqual(retired, []);
  });

  it("takes every image from its publisher's current repository", () => {
    const unknown = Object.entries(services)
      .filter(([, s]) => !CURRENT.has(repository(s.image)))
      .map(([name, s]) => `${name}: ${s.image}`);
    assert.deepEqual(unknown, []);
  });

  it("gives the Service Bus emulator a SQL Server that is up before it, with the emulator's password", () => {
    const emulator = services.servicebus;
    const sqlName = emulator.environment?.SQL_SERVER ?? '';
    const sql = services[sqlName];
    assert.ok(sql, `SQL_SERVER names no service: ${sqlName}`);
    assert.equal(repository(sql.image), 'mcr.microsoft.com/mssql/server');
    assert.equal(sql.environment?.MSSQL_SA_PASSWORD, emulator.environment?.MSSQL_SA_PASSWORD);
    assert.ok(sql.healthcheck, 'no health check to wait for');
    assert.deepEqual(emulator.depends_on?.[sqlName], { condition: 'service_healthy' });
  });
});

describe("local-dev/servicebus-config.json, against the Service Bus emulator's Config schema", () => {
  it('is a Config.json the emulator accepts, for its one namespace `sbemulatorns`', () => {
    const config = ourConfig();
    assert.deepEqual(configProblems(config), []);
    assert.equal(config.UserConfig.Namespaces[0].Name, 'sbemulatorns');
  });

  it('is checked by every keyword the schema uses', () => {
    assert.deepEqual(
      [...new Set(keywordsOf(emulatorSchema))].filter((k) => !KNOWN_KEYWORDS.has(k)),
      [],
    );
  });

  it('refuses what the emulator refuses: another namespace, over ten deliveries, no Logging, a TTL over an hour', () => {
    const refused = (change: (config: EmulatorConfig) => void) => {
      const config = ourConfig();
      change(config);
      return configProblems(config);
    };
    const queue = (c: EmulatorConfig) => c.UserConfig.Namespaces[0].Queues[0].Properties;
    assert.notDeepEqual(
      refused((c) => (c.UserConfig.Namespaces[0].Name = 'longhaul')),
      [],
    );
    assert.notDeepEqual(
      refused((c) => (queue(c).MaxDeliveryCount = 11)),
      [],
    );
    assert.notDeepEqual(
      refused((c) => delete c.UserConfig.Logging),
      [],
    );
    assert.deepEqual(
      refused((c) => (queue(c).DefaultMessageTimeToLive = 'PT2H')),
      ['/UserConfig/Namespaces/0/Queues/0/Properties/DefaultMessageTimeToLive: PT2H not in PT5M..PT1H'],
    );
  });
});
