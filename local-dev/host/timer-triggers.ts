import type { Timer } from '@azure/functions';
import { Cron } from 'croner';
import type { TimerTrigger } from '../../functions/app/trigger-types';
import { InFlight } from './in-flight';
import {
  logExecuted,
  newInvocationContext,
  SHUTDOWN_GRACE_MS,
  withFunctionTimeout,
  type LogSink,
} from './invocation';
import { resolveSettingExpression, type AppSettings } from './settings';

/** A scheduled run this much later than its occurrence counts as past due (a busy event loop is not a missed run). */
const PAST_DUE_AFTER_MS = 5_000;

export interface RunningTimerTriggers {
  close(): Promise<void>;
}

/**
 * Runs timer triggers on their NCRONTAB schedules, in UTC as the Functions host does. A run that comes due while the
 * previous one of the same timer is still going is skipped (the host's singleton lock), and the run after it is
 * past due. Throws before scheduling anything when a schedule is missing or malformed.
 */
export function startTimerTriggers(
  triggers: readonly TimerTrigger[],
  settings: AppSettings,
  log: LogSink,
  /** host.json `functionTimeout`. */
  functionTimeoutMs: number,
): RunningTimerTriggers {
  const planned = triggers.map((trigger) => ({ trigger, job: createJob(trigger, settings) }));
  const inFlight = new InFlight();
  const jobs = planned.map(({ trigger, job }) => {
    let expectedAt: Date | null = null;
    let lastRun: Date | undefined;
    const run = async (onStartup: boolean): Promise<void> => {
      const now = new Date();
      const last = lastRun ?? now;
      lastRun = now;
      const isPastDue =
        !onStartup && expectedAt !== null && now.getTime() - expectedAt.getTime() > PAST_DUE_AFTER_MS;
      expectedAt = job.nextRun();
      const timer: Timer = {
        isPastDue,
        schedule: { adjustForDST: true },
        scheduleStatus: {
          last: last.toISOString(),
          next: expectedAt?.toISOString() ?? '',
          lastUpdated: now.toISOString(),
        },
      };
      const context = newInvocationContext(trigger.name, log, {
        type: 'timerTrigger',
        name: 'timer',
        schedule: job.getPattern(),
        runOnStartup: trigger.runOnStartup ?? false,
      });
      const startedAt = performance.now();
      try {
        await withFunctionTimeout(trigger.handler(timer, context), functionTimeoutMs, trigger.name);
        logExecuted(log, context, startedAt);
      } catch (error) {
        logExecuted(log, context, startedAt, error);
      }
    };
    // Our own flag rather than croner's `protect`, so that it also covers the runOnStartup run.
    let busy = false;
    const fire = async (onStartup: boolean): Promise<void> => {
      if (busy) {
        log(`${trigger.name}: skipped a run, the previous one is still running`);
        return;
      }
      busy = true;
      try {
        await inFlight.track(run(onStartup));
      } finally {
        busy = false;
      }
    };
    job.schedule(() => fire(false));
    expectedAt = job.nextRun();
    if (trigger.runOnStartup) void fire(true);
    return job;
  });

  return {
    close: async () => {
      for (const job of jobs) job.stop();
      if (!(await inFlight.drain(SHUTDOWN_GRACE_MS))) {
        log(`Timers: ${inFlight.size} run(s) still going after ${SHUTDOWN_GRACE_MS} ms`);
      }
    },
  };
}

/** The trigger's job, parsed but not yet scheduled. */
function createJob(trigger: TimerTrigger, settings: AppSettings): Cron {
  const schedule = resolveSettingExpression(
    trigger.schedule,
    settings,
    `the schedule of '${trigger.name}'`,
  ).trim();
  const invalid = (why: string): Error => new Error(`Timer '${trigger.name}': schedule "${schedule}" ${why}`);
  if (schedule.split(/\s+/).length !== 6) {
    throw invalid('must have six fields (second minute hour day month day-of-week)');
  }
  try {
    // NCRONTAB requires both day fields to match; cron's "either" rule (legacy mode) would fire on extra days.
    return new Cron(schedule, { timezone: 'Etc/UTC', legacyMode: false });
  } catch (error) {
    throw invalid(`is invalid: ${(error as Error).message}`);
  }
}
