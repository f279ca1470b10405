import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings } from '../../functions/platform/settings';
import { readEmulatorConfigFile } from '../../local-dev/servicebus-emulator';
import { parseTimeSpan } from '../../local-dev/host/host-config';
import { findRepoRoot } from '../../local-dev/services/repo-root';

const root = findRepoRoot();
const hostJson = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as {
  functionTimeout: string;
  extensions: { serviceBus: { maxAutoLockRenewalDuration: string; autoCompleteMessages: boolean } };
};
const settings = loadSettings(
  (
    JSON.parse(readFileSync(join(root, 'local.settings.example.json'), 'utf8')) as {
      Values: Record<string, string>;
    }
  ).Values,
);
const [tasksQueue] = readEmulatorConfigFile(join(root, 'local-dev/servicebus-config.json')).queues;

describe('host.json, the queue settings and the engine timings agree', () => {
  const sliceMs = settings.sliceBudgetSeconds * 1000;
  // The engine lets a running step finish for a tenth of the budget (at least 1 s) before aborting it.
  const sliceWithGraceMs = sliceMs + Math.max(1_000, sliceMs / 10);

  it('a slice, with its grace, ends well inside the function timeout', () => {
    const timeoutMs = parseTimeSpan(hostJson.functionTimeout, 'functionTimeout');
    assert.ok(
      sliceWithGraceMs + 60_000 <= timeoutMs,
      `${sliceWithGraceMs} ms + 1 min margin vs ${timeoutMs} ms`,
    );
  });

  it('the host renews the message lock for as long as a slice can run', () => {
    const renewMs = parseTimeSpan(hostJson.extensions.serviceBus.maxAutoLockRenewalDuration, 'renewal');
    assert.ok(renewMs >= sliceWithGraceMs, `${renewMs} ms vs ${sliceWithGraceMs} ms`);
    assert.ok(tasksQueue.lockDurationMs <= 5 * 60_000, 'Azure allows locks up to 5 minutes');
  });

  it('the lease outlives several missed heartbeats, and stays far below a slice', () => {
    assert.ok(settings.leaseSeconds >= 3 * settings.heartbeatSeconds);
    assert.ok(settings.leaseSeconds * 1000 < sliceMs);
  });

  it('the queue de-duplicates re-sends and dead-letters only what keeps failing to be handled', () => {
    assert.equal(tasksQueue.requiresDuplicateDetection, true);
    assert.ok(tasksQueue.duplicateDetectionWindowMs >= 60_000);
    assert.ok(tasksQueue.maxDeliveryCount >= 5, 'engine crashes are redelivered before dead-lettering');
    assert.ok(tasksQueue.defaultTtlMs >= 3_600_000 || tasksQueue.defaultTtlMs === Infinity);
  });
});
