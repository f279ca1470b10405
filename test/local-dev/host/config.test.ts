import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RetryMode } from '@azure/service-bus';
import { parseTimeSpan, readHostConfig } from '../../../local-dev/host/host-config';
import { resolveServiceBusConnection, resolveSettingExpression } from '../../../local-dev/host/settings';

describe('local host configuration', () => {
  it('reads host.json time spans as .NET writes them', () => {
    assert.equal(parseTimeSpan('00:05:00', 'x'), 300_000);
    assert.equal(parseTimeSpan('1.02:03:04.5', 'x'), ((24 + 2) * 3600 + 3 * 60 + 4) * 1000 + 500);
    assert.equal(parseTimeSpan('00:00:00.80', 'x'), 800);
    assert.throws(() => parseTimeSpan('5m', 'host.json a.b'), /host\.json a\.b: "5m" is not a time span/);
    assert.throws(() => parseTimeSpan('00:61:00', 'x'), /out of range/);
  });

  it("falls back to the Functions host's defaults when host.json says nothing", () => {
    const config = readHostConfig({ version: '2.0' });
    assert.equal(config.routePrefix, 'api');
    assert.equal(config.serviceBus.maxConcurrentCalls, 16 * availableParallelism());
    assert.equal(config.serviceBus.autoCompleteMessages, true);
    assert.equal(config.serviceBus.maxAutoLockRenewalDurationInMs, 5 * 60_000);
    assert.deepEqual(config.serviceBus.retryOptions, {
      mode: RetryMode.Exponential,
      maxRetries: 3,
      retryDelayInMs: 800,
      maxRetryDelayInMs: 60_000,
      timeoutInMs: 60_000,
    });
  });

  it("takes the repository's host.json values", () => {
    const hostJson: unknown = JSON.parse(readFileSync(join(process.cwd(), 'host.json'), 'utf8'));
    const config = readHostConfig(hostJson);
    assert.equal(config.routePrefix, '');
    assert.equal(config.serviceBus.maxConcurrentCalls, 16);
    assert.equal(config.serviceBus.maxAutoLockRenewalDurationInMs, 15 * 60_000);
  });

  it('accepts an empty route prefix and names a malformed field', () => {
    assert.equal(readHostConfig({ extensions: { http: { routePrefix: '/' } } }).routePrefix, '');
    assert.throws(
      () => readHostConfig({ extensions: { serviceBus: { maxConcurrentCalls: '4' } } }),
      /host\.json extensions\.serviceBus\.maxConcurrentCalls must be a number/,
    );
    assert.throws(
      () => readHostConfig({ extensions: { serviceBus: { clientRetryOptions: { mode: 'random' } } } }),
      /clientRetryOptions\.mode must be "exponential" or "fixed"/,
    );
  });

  it('resolves %SETTING% expressions and names a missing setting', () => {
    assert.equal(resolveSettingExpression('%QUEUE%', { QUEUE: 'tasks' }, 'x'), 'tasks');
    assert.equal(resolveSettingExpression('pre-%A%-%B%', { A: '1', B: '2' }, 'x'), 'pre-1-2');
    assert.equal(resolveSettingExpression('literal', {}, 'x'), 'literal');
    assert.throws(
      () => resolveSettingExpression('%NOPE%', {}, "the queue of 'worker'"),
      /App setting NOPE is missing \(needed for the queue of 'worker'\)/,
    );
  });

  it('picks a connection string, or managed identity through NAME__fullyQualifiedNamespace and NAME__clientId', () => {
    assert.deepEqual(resolveServiceBusConnection('SB', { SB: 'Endpoint=sb://x' }), {
      kind: 'connectionString',
      connectionString: 'Endpoint=sb://x',
    });
    assert.deepEqual(
      resolveServiceBusConnection('SB', {
        SB__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
        SB__clientId: 'c',
      }),
      { kind: 'identity', fullyQualifiedNamespace: 'ns.servicebus.windows.net', clientId: 'c' },
    );
    assert.deepEqual(resolveServiceBusConnection('SB', { SB__fullyQualifiedNamespace: 'ns' }), {
      kind: 'identity',
      fullyQualifiedNamespace: 'ns',
    });
    assert.throws(
      () => resolveServiceBusConnection('SB', {}),
      /App setting SB \(or SB__fullyQualifiedNamespace\)/,
    );
  });
});
