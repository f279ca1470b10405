import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerTrigger } from '../../../functions/app/trigger-types';
import { sleep, startTestHost, waitFor, type TestHost } from './helpers';

interface Run {
  timer: Timer;
  context: InvocationContext;
  at: number;
}

function timerTrigger(
  name: string,
  schedule: string,
  options: { runOnStartup?: boolean; work?: () => Promise<void> } = {},
): { trigger: TimerTrigger; runs: Run[] } {
  const runs: Run[] = [];
  const trigger: TimerTrigger = {
    kind: 'timer',
    name,
    schedule,
    runOnStartup: options.runOnStartup,
    handler: async (timer, context) => {
      runs.push({ timer, context, at: Date.now() });
      await options.work?.();
    },
  };
  return { trigger, runs };
}

describe('local host: timer triggers', () => {
  let host: TestHost;
  let startedAt = 0;
  let running = 0;
  let maxRunning = 0;
  const tick = timerTrigger('tick', '%TICK_SCHEDULE%');
  const startup = timerTrigger('startup', '0 0 0 1 1 *', { runOnStartup: true });
  const slow = timerTrigger('slow', '*/1 * * * * *', {
    runOnStartup: true,
    work: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(1_500);
      running--;
    },
  });

  before(async () => {
    startedAt = Date.now();
    host = await startTestHost({
      triggers: [tick.trigger, startup.trigger, slow.trigger],
      settings: { TICK_SCHEDULE: '*/1 * * * * *' },
    });
  });
  after(() => host.close());

  it('runs a runOnStartup timer once at start, although its schedule is a year away', async () => {
    await waitFor(() => startup.runs.length === 1, 1_000, 'startup run');
    assert.ok(startup.runs[0].at - startedAt < 500);
    assert.equal(startup.runs[0].timer.isPastDue, false);
    assert.ok(Date.parse(startup.runs[0].timer.scheduleStatus.next) > Date.now() + 24 * 3600_000);
  });

  it('fires a six-field schedule (read from a %SETTING%) every second, with a Timer and a context', async () => {
    await waitFor(() => tick.runs.length >= 2, 3_500, 'two ticks');
    const [first, second] = tick.runs;
    assert.ok(
      second.at - first.at >= 500 && second.at - first.at <= 2_500,
      `${second.at - first.at} ms apart`,
    );
    assert.equal(first.timer.isPastDue, false);
    assert.deepEqual(first.timer.schedule, { adjustForDST: true });
    const { last, next, lastUpdated } = first.timer.scheduleStatus;
    for (const iso of [last, next, lastUpdated])
      assert.match(iso, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(next) > first.at - 5);
    assert.equal(first.context.functionName, 'tick');
    assert.match(first.context.invocationId, /^[0-9a-f-]{36}$/);
    assert.notEqual(first.context.invocationId, second.context.invocationId);
    assert.ok(host.logs.some((l) => l.startsWith("Executed 'tick' (Succeeded")));
  });

  it('skips a run that comes due while the previous run of the same timer is still going', async () => {
    await waitFor(() => slow.runs.length >= 2 && running === 0, 5_000, 'two slow runs');
    assert.equal(maxRunning, 1);
    assert.ok(host.logs.some((l) => l === 'slow: skipped a run, the previous one is still running'));
  });
});

describe('local host: timer configuration errors', () => {
  it('refuses schedules without six fields, malformed ones and missing settings, naming the timer', async () => {
    const start = (schedule: string) =>
      startTestHost({ triggers: [timerTrigger('sweeper', schedule).trigger], settings: {} });
    await assert.rejects(
      start('0 */5 * * *'),
      /Timer 'sweeper': schedule "0 \*\/5 \* \* \*" must have six fields/,
    );
    await assert.rejects(start('0 0 25 * * *'), /Timer 'sweeper': schedule "0 0 25 \* \* \*" is invalid/);
    await assert.rejects(
      start('%SWEEP%'),
      /App setting SWEEP is missing \(needed for the schedule of 'sweeper'\)/,
    );
  });
});
