import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEmulatorConfig, readEmulatorConfigFile } from '../../../local-dev/servicebus-emulator/config';
import { parseIsoDuration } from '../../../local-dev/servicebus-emulator/iso-duration';

const withQueue = (Properties: Record<string, unknown>, Name = 'tasks') => ({
  UserConfig: { Namespaces: [{ Name: 'sbemulatorns', Queues: [{ Name, Properties }] }] },
});

describe('Service Bus emulator config', () => {
  it('reads ISO-8601 durations including days, fractions and combined parts', () => {
    assert.equal(parseIsoDuration('PT1M'), 60_000);
    assert.equal(parseIsoDuration('PT0.5S'), 500);
    assert.equal(parseIsoDuration('P1DT2H3M4S'), ((24 + 2) * 3600 + 3 * 60 + 4) * 1000);
    for (const bad of ['1m', 'P', 'PT', 'PT5X', '', '00:61:00']) {
      assert.throws(() => parseIsoDuration(bad), /ISO-8601/, bad);
    }
  });

  it('reads every duration form Config.json allows: ISO with years and months, and .NET TimeSpan text', () => {
    assert.equal(parseIsoDuration('P0Y0M0DT0H0M30S'), 30_000);
    assert.equal(parseIsoDuration('P1Y2M'), (365 + 60) * 86_400_000);
    assert.equal(parseIsoDuration('00:01:00'), 60_000);
    assert.equal(parseIsoDuration('00:00:30.5'), 30_500);
    assert.equal(parseIsoDuration('1.02:00:00'), 26 * 3_600_000);
    assert.equal(parseIsoDuration('02:30'), 2.5 * 3_600_000);
    const q = parseEmulatorConfig(
      withQueue({ LockDuration: '00:00:45', DefaultMessageTimeToLive: 'P0Y0M1DT0H0M0S' }),
    ).queues[0];
    assert.equal(q.lockDurationMs, 45_000);
    assert.equal(q.defaultTtlMs, 86_400_000);
  });

  it("reads Microsoft's Config.json shape with every queue property", () => {
    const config = parseEmulatorConfig(
      withQueue({
        LockDuration: 'PT30S',
        MaxDeliveryCount: 4,
        DefaultMessageTimeToLive: 'PT1H',
        RequiresDuplicateDetection: true,
        DuplicateDetectionHistoryTimeWindow: 'PT2M',
        DeadLetteringOnMessageExpiration: true,
        RequiresSession: false,
        ForwardTo: '',
        ForwardDeadLetteredMessagesTo: '',
      }),
    );
    assert.deepEqual(config.queues, [
      {
        name: 'tasks',
        lockDurationMs: 30_000,
        maxDeliveryCount: 4,
        defaultTtlMs: 3_600_000,
        requiresDuplicateDetection: true,
        duplicateDetectionWindowMs: 120_000,
        deadLetteringOnMessageExpiration: true,
        requiresSession: false,
      },
    ]);
  });

  it('fills in Azure defaults for properties left out', () => {
    const [q] = parseEmulatorConfig(withQueue({})).queues;
    assert.equal(q.lockDurationMs, 60_000);
    assert.equal(q.maxDeliveryCount, 10);
    assert.equal(q.defaultTtlMs, Infinity);
    assert.equal(q.requiresDuplicateDetection, false);
    assert.equal(q.duplicateDetectionWindowMs, 600_000);
  });

  it('names the field at fault when a value is malformed or unsupported', () => {
    assert.throws(() => parseEmulatorConfig(withQueue({ LockDuration: 'PT10M' })), /LockDuration/);
    assert.throws(() => parseEmulatorConfig(withQueue({ MaxDeliveryCount: 0 })), /MaxDeliveryCount/);
    assert.throws(() => parseEmulatorConfig(withQueue({ RequiresSession: 'yes' })), /RequiresSession/);
    assert.equal(parseEmulatorConfig(withQueue({ RequiresSession: true })).queues[0].requiresSession, true);
    assert.throws(() => parseEmulatorConfig(withQueue({}, 'bad name')), /Queues\.0\.Name/);
    assert.throws(() => parseEmulatorConfig({ UserConfig: { Namespaces: [] } }), /Namespaces/);
  });

  it('refuses a queue declared twice, ignoring case as Azure does', () => {
    const raw = {
      UserConfig: {
        Namespaces: [{ Name: 'ns', Queues: [{ Name: 'Tasks' }, { Name: 'tasks' }] }],
      },
    };
    assert.throws(() => parseEmulatorConfig(raw), /declared twice/);
  });

  it('reports topics as ignored rather than failing', () => {
    const raw = { UserConfig: { Namespaces: [{ Name: 'ns', Queues: [], Topics: [{ Name: 't' }] }] } };
    assert.deepEqual(parseEmulatorConfig(raw).ignored, ['1 topic(s) in namespace ns']);
  });

  it('reads the shipped local-dev config and explains an unreadable or non-JSON file', () => {
    const shipped = readEmulatorConfigFile(join(__dirname, '../../../../local-dev/servicebus-config.json'));
    assert.equal(shipped.queues[0].name, 'tasks');
    assert.equal(shipped.queues[0].requiresDuplicateDetection, true);
    const dir = mkdtempSync(join(tmpdir(), 'sbcfg-'));
    writeFileSync(join(dir, 'bad.json'), '{nope');
    assert.throws(() => readEmulatorConfigFile(join(dir, 'bad.json')), /is not JSON/);
    assert.throws(() => readEmulatorConfigFile(join(dir, 'missing.json')), /cannot read/);
  });
});
