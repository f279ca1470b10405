import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { appServices, closeAppServices } from '../functions/app/app-services';
import { sweepTasks } from '../functions/app/timers/sweep-tasks';
import type { PressureOptions } from '../local-dev/servicebus-emulator';
import { useSettings } from '../test/support/app-stack';
import { invocation, startHostProcess, startWorkerProcess, timer } from '../test/support/engine-harness';
import { startChaosStack, type ChaosStack, type ServiceName } from './stack';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';
import { watchTask, type WatchOutcome } from './watcher';

export const FAULTS = [
  'kill-workers',
  'redis-restart',
  'postgres-restart',
  'servicebus-restart',
  'azurite-restart',
  'short-leases-duplicates',
  'postgres-blackhole',
  'redis-blackhole',
  'storage-blackhole',
  'servicebus-blackhole',
  'postgres-latency',
  'servicebus-pressure',
] as const;
export type Fault = (typeof FAULTS)[number];

const RESTARTS: Partial<Record<Fault, ServiceName>> = {
  'redis-restart': 'redis',
  'postgres-restart': 'postgres',
  'servicebus-restart': 'servicebus',
  'azurite-restart': 'azurite',
};

/**
 * Network faults: the app reaches one dependency (every loopback address in its setting: Blob, Queue and Table for
 * storage) through proxies the suite controls, which drop every byte or delay each by `NETWORK_DELAY_MS` each way
 * while the fault lasts.
 */
type NetworkSetting = 'DATABASE_URL' | 'REDIS_URL' | 'TASKS_STORAGE' | 'ServiceBusConnection';
const NETWORK_FAULTS: Partial<Record<Fault, { setting: NetworkSetting; mode: 'blackhole' | 'delay' }>> = {
  'postgres-blackhole': { setting: 'DATABASE_URL', mode: 'blackhole' },
  'redis-blackhole': { setting: 'REDIS_URL', mode: 'blackhole' },
  'storage-blackhole': { setting: 'TASKS_STORAGE', mode: 'blackhole' },
  'servicebus-blackhole': { setting: 'ServiceBusConnection', mode: 'blackhole' },
  'postgres-latency': { setting: 'DATABASE_URL', mode: 'delay' },
};
/**
 * `servicebus-pressure`: for the whole run the emulator acts as a Standard namespace under load (its pressure mode):
 * a namespace whose credits are nearly all spent by other clients (Azure grants 1,000 a second; this app gets 12),
 * one delivered lock in twenty lost, and a client connection forced closed every 2 s as in a gateway upgrade.
 */
const SERVICEBUS_PRESSURE: PressureOptions = { serverBusy: 12, lockLoss: 0.05, disconnectEveryMs: 2_000 };

/** A round trip of 300 ms: several times what a step's queries take, a tenth of the chaos stack's 3 s lease. */
const NETWORK_DELAY_MS = 150;

export interface ScenarioOptions {
  fault: Fault;
  tasks: number;
  workers: number;
  /** Submissions are spread over this window; the fault starts a third of the way in. */
  submitMs: number;
  /** How long the fault lasts (a restart's downtime, the kill loop's length, the duplicate sender's). */
  faultMs: number;
  /** After the last submission and the fault, how long tasks get to end before the unfinished count as lost. */
  drainMs: number;
  /**
   * The queue's message lock; default the file's (1 min). A message held by a killed worker comes back only when its
   * lock expires, so a short run shortens it to stay short.
   */
  lockSeconds?: number;
  /**
   * SWEEP_UNSENT_SECONDS; default the app's (60 s). A task whose first send failed in an outage waits this long for
   * the sweeper, so a short run shortens it to stay short.
   */
  unsentSeconds?: number;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  fault: Fault;
  accepted: number;
  /** Submissions that got an error instead of a 202 (nothing promised, nothing to lose). */
  refused: number;
  terminal: number;
  lost: number;
  /** Step bodies that ran again after their checkpoint had been seen committed: invariant 1, must be 0. */
  checkpointedReruns: number;
  /** Extra runs of steps in flight when a fault hit (not checkpointed, so allowed), beyond the planned retries. */
  inFlightReruns: number;
  wrongStatus: number;
  /** Tasks watched over SSE (every tenth), persisted events those watchers never got, and events they got twice. */
  watched: number;
  sseMissed: number;
  sseDuplicates: number;
  /** From the end of the fault to the first event any task persisted afterwards. */
  recoveryMs: number;
  durationMs: number;
}

type Expected = 'succeeded' | 'failed' | 'cancelled';

interface Planned {
  input: {
    steps: number;
    stepMs: number;
    failAtStep?: number;
    failMode?: string;
    failTimes?: number;
    sleepAtStep?: number;
    sleepMs?: number;
    waitAtStep?: number;
  };
  cancelAfterMs?: number;
  /** Sends the signal the task waits for this long after its submit. */
  signalAfterMs?: number;
}

interface Accepted extends Planned {
  id: string;
  expected: Expected;
}

/**
 * The mix: mostly plain tasks, some failing for good, some failing transiently then succeeding, some cancelled, some
 * sleeping past the in-slice limit (so they wait on a scheduled message, holding no worker), and some waiting for a
 * signal that comes a while later.
 */
function plan(i: number): Planned {
  const steps = 3 + (i % 10);
  const stepMs = 40 + ((i * 37) % 160);
  switch (i % 10) {
    // Submitted early, so their sleep overlaps the fault; their streams are watched (every tenth task) across it.
    case 0:
      return { input: { steps, stepMs, sleepAtStep: 1, sleepMs: 2_500 } };
    case 2:
      return { input: { steps, stepMs, waitAtStep: 1 }, signalAfterMs: 1_000 + ((i * 97) % 3_000) };
    case 1:
      return { input: { steps, stepMs, failAtStep: i % steps, failMode: 'permanent' } };
    case 3:
    case 7:
      return { input: { steps, stepMs, failAtStep: (i * 7) % steps, failTimes: 1 + (i % 2) } };
    case 5:
      return { input: { steps: 30, stepMs: 200 }, cancelAfterMs: 500 + ((i * 131) % 2_500) };
    default:
      return { input: { steps, stepMs } };
  }
}

const expectedOf = (p: Planned): Expected => (p.input.failMode === 'permanent' ? 'failed' : 'succeeded');

/** Keeps retrying while a dependency is down; the harness itself must ride out the faults it injects. */
async function persist<T>(work: () => Promise<T>, until: number): Promise<T> {
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(250);
    }
  }
}

/** SIGKILL, for workers as for the rest: nothing in them needs a clean shutdown, which is what the suite checks. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

class Workers {
  private readonly running: ChildProcess[] = [];
  constructor(private readonly env: Record<string, string>) {}

  async start(n: number): Promise<void> {
    this.running.push(...(await Promise.all(Array.from({ length: n }, () => startWorkerProcess(this.env)))));
  }

  /** SIGKILL of one worker at random, then a replacement, so capacity stays the same. */
  async killOne(): Promise<void> {
    const [victim] = this.running.splice(Math.floor(Math.random() * this.running.length), 1);
    await kill(victim);
    await this.start(1);
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.splice(0).map(kill));
  }
}

/**
 * Watches for invariant 1: remembers, per step, how many times its body had run when its checkpoint was first seen
 * committed. Checkpoints are read before the ledger, so a later count can only come from a run that started after
 * the checkpoint existed.
 */
class CheckpointWatch {
  private readonly seen = new Map<string, Map<string, number>>();

  async sample(pool: Pool): Promise<void> {
    const { rows } = await pool.query<{ id: string }>("SELECT id FROM tasks WHERE status = 'running'");
    const { checkpoints, ledger } = appServices();
    for (const { id } of rows) {
      const completed = await checkpoints.completedSteps(id);
      const runs = await ledger.runs(id);
      const known = this.seen.get(id) ?? new Map<string, number>();
      for (const step of completed.keys()) if (!known.has(step)) known.set(step, runs[step] ?? 0);
      this.seen.set(id, known);
    }
  }

  violations(id: string, finalRuns: Record<string, number>): number {
    let count = 0;
    for (const [step, runs] of this.seen.get(id) ?? []) if ((finalRuns[step] ?? 0) > runs) count++;
    return count;
  }
}

/** Planned runs of each step: one, plus the transient failures asked for. */
function inFlightReruns(task: Accepted, runs: Record<string, number>): number {
  let extra = 0;
  for (const [step, n] of Object.entries(runs)) {
    const planned =
      task.input.failAtStep !== undefined && step === `step-${task.input.failAtStep}` && !task.input.failMode
        ? 1 + (task.input.failTimes ?? 1)
        : 1;
    extra += Math.max(0, n - planned);
  }
  return extra;
}

/** Runs in the background until stopped; errors (a dependency down) only skip a round. */
function every(ms: number, work: () => Promise<void>): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await work().catch(() => undefined);
      await sleep(ms);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** `value` with every loopback address in it routed through a proxy of its own. */
async function throughProxies(value: string): Promise<{ value: string; proxies: TcpProxy[] }> {
  const proxies: TcpProxy[] = [];
  let routed = value;
  for (const port of new Set([...value.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]))) {
    const proxy = await startTcpProxy(Number(port));
    proxies.push(proxy);
    routed = routed.replaceAll(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`);
  }
  if (proxies.length === 0) throw new Error(`no loopback address to proxy in ${value}`);
  return { value: routed, proxies };
}

/** Sends a copy of the current slice's message of every unfinished task, under fresh ids: duplicate delivery. */
async function duplicateMessages(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ id: string; attempts: number }>(
    "SELECT id, attempts FROM tasks WHERE status IN ('queued', 'running')",
  );
  const { queue, checkpoints } = appServices();
  for (const { id, attempts } of rows) {
    const { nextSlice } = await checkpoints.leaseState(id);
    await queue.send(
      { taskId: id, slice: nextSlice, attempt: Math.max(1, attempts) },
      { messageId: `${id}:${nextSlice}:dup:${Math.random()}` },
    );
  }
}

async function injectFault(
  options: ScenarioOptions,
  stack: ChaosStack,
  workers: Workers,
  pool: Pool,
  proxies: TcpProxy[],
) {
  const service = RESTARTS[options.fault];
  if (service) return stack.services[service].restart(options.faultMs);
  if (proxies.length > 0) {
    const delay = NETWORK_FAULTS[options.fault]?.mode === 'delay';
    for (const proxy of proxies) {
      if (delay) proxy.delay(NETWORK_DELAY_MS);
      else proxy.blackhole();
    }
    await sleep(options.faultMs);
    for (const proxy of proxies) proxy.heal();
    return;
  }
  if (options.fault === 'servicebus-pressure') {
    // The stack's emulator has been under pressure from the start; it stays so for the run.
    await sleep(options.faultMs);
    return;
  }
  const until = Date.now() + options.faultMs;
  if (options.fault === 'kill-workers') {
    while (Date.now() < until) {
      await workers.killOne();
      await sleep(700 + Math.random() * 800);
    }
    return;
  }
  const stopDuplicates = every(300, () => duplicateMessages(pool));
  await sleep(options.faultMs);
  await stopDuplicates();
}

/**
 * One chaos scenario on a private stack: worker processes, a stream of simulate tasks (some failing on purpose, some
 * cancelled), one fault while they run, the sweeper every second (the timer's production cadence is a minute), and
 * the accounting once every task has ended or the deadline has passed.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined);
  const begin = Date.now();
  const shortLeases = options.fault === 'short-leases-duplicates';
  const underPressure = options.fault === 'servicebus-pressure';
  const stack = await startChaosStack({
    lockSeconds: options.lockSeconds,
    ...(underPressure
      ? { pressure: SERVICEBUS_PRESSURE, log: (line: string) => log(`servicebus: ${line}`) }
      : {}),
  });
  // The app reaches the dependency through the proxies; the suite's own accounting goes straight to it.
  const network = NETWORK_FAULTS[options.fault];
  const proxied = network ? await throughProxies(stack.settings[network.setting]) : undefined;
  const settings: Record<string, string> = {
    ...stack.settings,
    ...(network && proxied ? { [network.setting]: proxied.value } : {}),
    LEASE_SECONDS: shortLeases ? '1' : '3',
    // Leases that expire under live workers are taken over by design here, far more often than a poison task's cap.
    ...(shortLeases ? { MAX_TAKEOVERS: '1000' } : {}),
    HEARTBEAT_SECONDS: '1',
    SLICE_BUDGET_SECONDS: '3',
    RETRY_BASE_SECONDS: '1',
    RETRY_MAX_ATTEMPTS: '20',
    ...(options.unsentSeconds ? { SWEEP_UNSENT_SECONDS: String(options.unsentSeconds) } : {}),
  };
  const restoreEnv = useSettings(settings);
  await closeAppServices();
  const pool = new Pool({
    connectionString: stack.settings.DATABASE_URL,
    max: 4,
    connectionTimeoutMillis: 2_000,
  });
  pool.on('error', () => undefined); // idle connections die with a Postgres restart
  const workers = new Workers(settings);
  const watch = new CheckpointWatch();
  const stopSweeper = every(1_000, () => sweepTasks(timer, invocation()));
  const stopWatch = every(1_000, () => watch.sample(pool));
  const stopWatchers = new AbortController();
  let api: ChildProcess | undefined;
  try {
    const [apiHost] = await Promise.all([startHostProcess(settings, 'http'), workers.start(options.workers)]);
    api = apiHost.child;
    const watchers: Array<Promise<[string, WatchOutcome]>> = [];
    const accepted: Accepted[] = [];
    const cancels: Promise<void>[] = [];
    let refused = 0;
    const signals: Promise<unknown>[] = [];
    const signalLater = async (task: Accepted, afterMs: number) => {
      await sleep(afterMs);
      await persist(
        () =>
          appServices().signals.deliver({
            owner: undefined,
            taskId: task.id,
            name: 'continue',
            payload: { note: 'chaos' },
            sender: 'chaos',
            idempotencyKey: task.id,
          }),
        Date.now() + 60_000,
      );
    };
    const cancelLater = async (task: Accepted, afterMs: number) => {
      await sleep(afterMs);
      const outcome = await persist(
        () => appServices().tasks.cancel(undefined, task.id),
        Date.now() + 30_000,
      );
      // Too late to cancel: it ended on its own, which is then the right status.
      if (outcome.kind === 'requested') task.expected = 'cancelled';
    };
    const submitAll = (async () => {
      for (let i = 0; i < options.tasks; i++) {
        const planned = plan(i);
        try {
          const { task } = await appServices().tasks.submit({
            owner: 'chaos',
            type: 'simulate',
            input: planned.input,
            requestHash: String(i),
            traceparent: '00-00000000000000000000000000000001-0000000000000001-01',
          });
          const entry: Accepted = { ...planned, id: task.id, expected: expectedOf(planned) };
          accepted.push(entry);
          if (i % 10 === 0)
            watchers.push(watchTask(apiHost.url, task.id, stopWatchers.signal).then((o) => [task.id, o]));
          if (planned.cancelAfterMs !== undefined) cancels.push(cancelLater(entry, planned.cancelAfterMs));
          if (planned.signalAfterMs !== undefined) signals.push(signalLater(entry, planned.signalAfterMs));
        } catch {
          refused++;
        }
        await sleep(options.submitMs / options.tasks);
      }
    })();

    await sleep(options.submitMs / 3);
    log(`${options.fault}: fault starts`);
    await injectFault(options, stack, workers, pool, proxied?.proxies ?? []);
    const faultEnd = new Date();
    log(`${options.fault}: fault ends`);
    await submitAll;
    await Promise.all([...cancels, ...signals]);

    const deadline = Date.now() + options.drainMs;
    const ids = accepted.map((t) => t.id);
    let statuses = new Map<string, string>();
    for (;;) {
      const { rows } = await persist(
        () =>
          pool.query<{ id: string; status: string }>('SELECT id, status FROM tasks WHERE id = ANY($1)', [
            ids,
          ]),
        deadline,
      );
      statuses = new Map(rows.map((r) => [r.id, r.status]));
      const open = ids.filter((id) => !['succeeded', 'failed', 'cancelled'].includes(statuses.get(id) ?? ''));
      if (!open.length || Date.now() > deadline) break;
      await sleep(500);
    }
    await stopWatch();
    // Watchers of ended tasks get the end from the stream within moments; a little slack, then they are stopped.
    const watchTimer = setTimeout(() => stopWatchers.abort(), 10_000);
    const watched = await Promise.all(watchers);
    clearTimeout(watchTimer);
    let sseMissed = 0;
    let sseDuplicates = 0;
    for (const [id, outcome] of watched) {
      const { rows } = await pool.query<{ seq: number }>(
        'SELECT seq::int FROM task_events WHERE task_id = $1',
        [id],
      );
      sseMissed += rows.filter((r) => !outcome.seen.has(r.seq)).length;
      sseDuplicates += outcome.duplicates;
    }
    const { rows: recovered } = await pool.query<{ at: Date | null }>(
      'SELECT min(at) AS at FROM task_events WHERE at > $1',
      [faultEnd],
    );
    let checkpointedReruns = 0;
    let inFlight = 0;
    let wrongStatus = 0;
    let terminal = 0;
    for (const task of accepted) {
      const status = statuses.get(task.id) ?? 'missing';
      if (!['succeeded', 'failed', 'cancelled'].includes(status)) continue;
      terminal++;
      if (status !== task.expected) {
        wrongStatus++;
        log(`${options.fault}: task ${task.id} ${status}, expected ${task.expected}`);
      }
      const runs = await appServices().ledger.runs(task.id);
      checkpointedReruns += watch.violations(task.id, runs);
      inFlight += inFlightReruns(task, runs);
    }
    return {
      fault: options.fault,
      accepted: accepted.length,
      refused,
      terminal,
      lost: accepted.length - terminal,
      checkpointedReruns,
      inFlightReruns: inFlight,
      wrongStatus,
      watched: watched.length,
      sseMissed,
      sseDuplicates,
      recoveryMs: recovered[0]?.at ? recovered[0].at.getTime() - faultEnd.getTime() : -1,
      durationMs: Date.now() - begin,
    };
  } finally {
    stopWatchers.abort();
    if (api) await kill(api);
    await stopSweeper();
    await stopWatch();
    await workers.stop();
    await closeAppServices();
    await pool.end();
    await Promise.all((proxied?.proxies ?? []).map((proxy) => proxy.close()));
    await stack.stop();
    restoreEnv();
  }
}
