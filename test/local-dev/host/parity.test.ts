import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { RetryMode } from '@azure/service-bus';
import { triggers } from '../../../functions/app/triggers';
import {
  HONOURED_HOST_JSON,
  INERT_HOST_JSON,
  readHostConfig,
  type HostConfig,
} from '../../../local-dev/host/host-config';
import { findRepoRoot } from '../../../local-dev/services/repo-root';
import {
  captureRegistration,
  type AppRegistration,
  type RegisteredFunction,
} from '../../support/functions-core-stand-in';
import { OFFLINE_SETTINGS } from '../../support/offline-settings';

const repoRoot = findRepoRoot();
const hostJson: unknown = JSON.parse(readFileSync(join(repoRoot, 'host.json'), 'utf8'));

/** Each honoured setting, a value unlike its default, and where the local host's configuration shows it. */
const EFFECTS: Record<string, { value: unknown; read: (c: HostConfig) => unknown; expected: unknown }> = {
  version: { value: '2.0', read: () => 'accepted', expected: 'accepted' },
  functionTimeout: { value: '00:00:07', read: (c) => c.functionTimeoutMs, expected: 7_000 },
  'extensions.http.routePrefix': { value: 'v1', read: (c) => c.routePrefix, expected: 'v1' },
  'extensions.serviceBus.prefetchCount': { value: 0, read: () => 'accepted', expected: 'accepted' },
  'extensions.serviceBus.maxConcurrentCalls': {
    value: 3,
    read: (c) => c.serviceBus.maxConcurrentCalls,
    expected: 3,
  },
  'extensions.serviceBus.autoCompleteMessages': {
    value: false,
    read: (c) => c.serviceBus.autoCompleteMessages,
    expected: false,
  },
  'extensions.serviceBus.maxAutoLockRenewalDuration': {
    value: '00:00:42',
    read: (c) => c.serviceBus.maxAutoLockRenewalDurationInMs,
    expected: 42_000,
  },
  'extensions.serviceBus.clientRetryOptions.mode': {
    value: 'fixed',
    read: (c) => c.serviceBus.retryOptions.mode,
    expected: RetryMode.Fixed,
  },
  'extensions.serviceBus.clientRetryOptions.maxRetries': {
    value: 7,
    read: (c) => c.serviceBus.retryOptions.maxRetries,
    expected: 7,
  },
  'extensions.serviceBus.clientRetryOptions.delay': {
    value: '00:00:02',
    read: (c) => c.serviceBus.retryOptions.retryDelayInMs,
    expected: 2_000,
  },
  'extensions.serviceBus.clientRetryOptions.maxDelay': {
    value: '00:00:09',
    read: (c) => c.serviceBus.retryOptions.maxRetryDelayInMs,
    expected: 9_000,
  },
  'extensions.serviceBus.clientRetryOptions.tryTimeout': {
    value: '00:00:11',
    read: (c) => c.serviceBus.retryOptions.timeoutInMs,
    expected: 11_000,
  },
};

function withPath(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let at = root;
  for (const key of keys.slice(0, -1)) at = (at[key] = {}) as Record<string, unknown>;
  at[keys[keys.length - 1]] = value;
  return root;
}

function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

describe('local host parity: host.json', () => {
  it('honours every setting of the repository’s host.json, or names why it changes nothing locally', () => {
    readHostConfig(hostJson);
    for (const path of leafPaths(hostJson)) {
      assert.ok(
        HONOURED_HOST_JSON.includes(path) || path.split('.')[0] in INERT_HOST_JSON,
        `${path} is neither honoured nor inert`,
      );
    }
  });

  it('shows each honoured setting in what the local host does', () => {
    assert.deepEqual(Object.keys(EFFECTS).sort(), [...HONOURED_HOST_JSON].sort(), 'one effect per setting');
    for (const [path, effect] of Object.entries(EFFECTS)) {
      assert.deepEqual(effect.read(readHostConfig(withPath(path, effect.value))), effect.expected, path);
    }
  });

  it('refuses a setting Azure would honour and the local host would ignore, naming it', () => {
    for (const path of [
      'extensions.serviceBus.maxMessageBatchSize',
      'extensions.serviceBus.sessionIdleTimeout',
      'extensions.http.maxConcurrentRequests',
      'concurrency.dynamicConcurrencyEnabled',
      'retry.strategy',
    ]) {
      assert.throws(
        () => readHostConfig(withPath(path, 1)),
        new RegExp(`host\\.json ${path.replace(/\./g, '\\.')} is not supported by the local host`),
      );
    }
    assert.throws(
      () => readHostConfig(withPath('extensions.serviceBus.prefetchCount', 20)),
      /prefetchCount must be 0/,
    );
    assert.throws(() => readHostConfig(withPath('version', '1.0')), /version must be "2\.0"/);
  });
});

describe('local host parity: the registration', () => {
  let registration: AppRegistration;
  const registered = (name: string): RegisteredFunction => {
    const fn = registration.functions.find((f) => f.name === name);
    assert.ok(fn, `${name} is registered`);
    return fn;
  };
  const triggerBinding = (fn: RegisteredFunction, kind: string) => {
    const bindings = Object.entries(fn.bindings);
    const [trigger, ...others] = bindings.filter(([, b]) => b.direction === 'in');
    assert.equal(others.length, 0, `${fn.name}: no input binding besides its trigger`);
    // The local host runs triggers and writes HTTP responses: any other output binding would be Azure's alone.
    const outputs = bindings.filter(([, b]) => b.direction === 'out');
    assert.deepEqual(
      outputs.map(([name, b]) => `${name}:${b.type}`),
      kind === 'http' ? ['$return:http'] : [],
      `${fn.name}: outputs`,
    );
    return trigger[1];
  };

  before(async () => {
    registration = await captureRegistration(join(__dirname, '..', '..', '..', 'functions', 'index.js'), {
      ...process.env,
      ...OFFLINE_SETTINGS,
    });
  });

  it('registers exactly the functions the local host serves', () => {
    assert.deepEqual(registration.functions.map((f) => f.name).sort(), triggers.map((t) => t.name).sort());
  });

  it('streams HTTP on Azure as the local host does (app.setup enableHttpStream)', () => {
    assert.equal(registration.httpStream, true);
  });

  it('gives each trigger the options the local host runs it with, and none it cannot honour', () => {
    for (const trigger of triggers) {
      const fn = registered(trigger.name);
      const binding = triggerBinding(fn, trigger.kind);
      // Retries by the host (`retry` on a registration) are not modelled locally: none may be asked for.
      assert.equal(fn.retryOptions, undefined, `${fn.name}: no host retry policy`);
      switch (trigger.kind) {
        case 'http':
          assert.equal(binding.type, 'httpTrigger');
          assert.equal(binding.route, trigger.route);
          assert.deepEqual(binding.methods, trigger.methods);
          // The local host asks for no function key, so none may be required on Azure either.
          assert.equal(binding.authLevel, 'anonymous');
          break;
        case 'serviceBus':
          assert.equal(binding.type, 'serviceBusTrigger');
          assert.equal(binding.queueName, trigger.queueName);
          assert.equal(binding.connection, trigger.connection);
          assert.deepEqual(binding.properties, {
            supportsDeferredBinding: trigger.sdkBinding ? 'true' : 'false',
          });
          // One message per invocation and no sessions: the only way the local host delivers.
          assert.equal(binding.cardinality, undefined);
          assert.equal(binding.isSessionsEnabled, undefined);
          break;
        case 'timer':
          assert.equal(binding.type, 'timerTrigger');
          assert.equal(binding.schedule, trigger.schedule);
          assert.equal(binding.runOnStartup, trigger.runOnStartup ?? false);
          break;
      }
    }
  });

  it('turns host.json auto-completion off where a trigger settles its own messages', () => {
    const config = readHostConfig(hostJson);
    const settlesItself = registration.functions.some((fn) =>
      Object.values(fn.bindings).some((b) => b.type === 'serviceBusTrigger' && b.sdkBinding === true),
    );
    assert.ok(settlesItself, 'the worker uses the SDK-type binding');
    assert.equal(config.serviceBus.autoCompleteMessages, false);
  });
});
