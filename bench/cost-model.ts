import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceBusClient, type ServiceBusReceiver, type ServiceBusSender } from '@azure/service-bus';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { appServices, closeAppServices } from '../functions/app/app-services';
import { loadSettings, type Settings } from '../functions/platform/settings';
import { triggers } from '../functions/app/triggers';
import { startLocalHost, type LocalHost } from '../local-dev/host';
import { findRepoRoot } from '../local-dev/services/repo-root';
import { startBenchStack, submitTask } from './bench-stack';

/** Billable (or sizing-relevant) operations, counted where the app and the host make them. */
export interface OperationCounts {
  serviceBus: Record<string, number>;
  blob: Record<string, number>;
  table: Record<string, number>;
  postgresWrites: number;
  redisPublishes: number;
}

/** Operations of one task-hour: a task running for an hour with a step (and its progress report) every few seconds. */
export interface TaskHour {
  stepEverySeconds: number;
  steps: number;
  heartbeats: number;
  slices: number;
  counts: OperationCounts;
}

export interface CostModelResult {
  /**
   * Extrapolated from the per-unit costs (an hour-long run per shape would take hours): a step every second (the
   * progress rate the issue asks about) and every 10 s (docs/sizing.md's reference workload), default heartbeat and
   * slice budget.
   */
  taskHours: TaskHour[];
  /**
   * A check of the extrapolation: one real task with a step every second across several slices, its measured
   * operations against what the per-unit costs predict for its shape.
   */
  validation: {
    steps: number;
    slices: number;
    heartbeats: number;
    measured: OperationCounts;
    predicted: OperationCounts;
  };
  /** Operations of one run, divided by its number of tasks. */
  perTask: {
    fixed: OperationCounts;
    perStep: OperationCounts;
    perHeartbeat: OperationCounts;
    perSlice: OperationCounts;
  };
  /**
   * A task asleep for an hour (`ctx.sleep`), watched for a while with the default heartbeat: the operations made
   * meanwhile (none is the claim: no worker holds it), whether a lease is held, and when its wake-up is due.
   */
  waiting: { windowSeconds: number; counts: OperationCounts; leaseHeld: boolean; wakeInSeconds: number };
  runs: {
    name: string;
    tasks: number;
    steps: number;
    slices: number;
    heartbeats: number;
    counts: OperationCounts;
  }[];
}

const SB_METHODS = {
  sender: ['sendMessages', 'scheduleMessages', 'cancelScheduledMessages'],
  receiver: ['completeMessage', 'abandonMessage', 'deadLetterMessage', 'renewMessageLock', 'receiveMessages'],
} as const;

const emptyCounts = (): OperationCounts => ({
  serviceBus: {},
  blob: {},
  table: {},
  postgresWrites: 0,
  redisPublishes: 0,
});
const bump = (counts: Record<string, number>, key: string, by = 1) => (counts[key] = (counts[key] ?? 0) + by);

/**
 * Counts Service Bus calls by wrapping the SDK clients this process creates (the app's and the local host's), and
 * Blob / Table requests by the HTTP requests this process sends to Azurite's ports.
 */
function instrument(storageConnectionString: string): {
  counts: () => OperationCounts;
  reset(): void;
  stop(): void;
} {
  let counts = emptyCounts();
  const port = (service: string) =>
    new URL(new RegExp(`${service}Endpoint=([^;]+)`).exec(storageConnectionString)![1]).port;
  const blobPort = port('Blob');
  const tablePort = port('Table');
  const onRequest = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const hostPort = String(request.getHeader('host') ?? '').split(':')[1];
    // Table batches (entity group transactions) are one request and one billed transaction.
    const kind = request.path.includes('$batch') ? 'BATCH' : request.method;
    if (hostPort === blobPort) bump(counts.blob, kind);
    if (hostPort === tablePort) bump(counts.table, kind);
  };
  subscribe('http.client.request.start', onRequest);

  // The shared Redis serves other processes too, so publishes are counted here rather than from its INFO.
  const publish = Redis.prototype.publish;
  Redis.prototype.publish = function (this: Redis, ...args: unknown[]) {
    counts.redisPublishes++;
    return (publish as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof publish;

  // Writes are INSERT / UPDATE / DELETE statements, wherever the app sends them (pool queries go through Client).
  const query = Client.prototype.query;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(text)) counts.postgresWrites++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;

  const wrap = <T extends object>(target: T, methods: readonly string[]): T => {
    for (const method of methods) {
      const original = (target as Record<string, unknown>)[method];
      if (typeof original !== 'function') continue;
      (target as Record<string, unknown>)[method] = (...args: unknown[]) => {
        // A batch send or schedule is one operation per message on the bill.
        bump(counts.serviceBus, method, Array.isArray(args[0]) ? args[0].length : 1);
        return (original as (...a: unknown[]) => unknown).apply(target, args);
      };
    }
    return target;
  };
  const proto = ServiceBusClient.prototype;
  const createSender = proto.createSender;
  const createReceiver = proto.createReceiver;
  proto.createSender = function (
    this: ServiceBusClient,
    ...args: Parameters<typeof createSender>
  ): ServiceBusSender {
    return wrap(createSender.apply(this, args), SB_METHODS.sender);
  };
  proto.createReceiver = function (this: ServiceBusClient, ...args: unknown[]): ServiceBusReceiver {
    const receiver = wrap(
      (createReceiver as (...a: unknown[]) => ServiceBusReceiver).apply(this, args),
      SB_METHODS.receiver,
    );
    const subscribeTo = receiver.subscribe.bind(receiver);
    receiver.subscribe = (handlers, options) =>
      subscribeTo(
        {
          ...handlers,
          processMessage: (message) => {
            bump(counts.serviceBus, 'receive');
            return handlers.processMessage(message);
          },
        },
        options,
      );
    return receiver;
  };
  return {
    counts: () => counts,
    reset: () => (counts = emptyCounts()),
    stop: () => {
      unsubscribe('http.client.request.start', onRequest);
      proto.createSender = createSender;
      proto.createReceiver = createReceiver;
      Client.prototype.query = query;
      Redis.prototype.publish = publish;
    },
  };
}

/** Divides (a - b) by n, key by key: the marginal operations of one unit. */
function marginal(a: OperationCounts, b: OperationCounts, n: number): OperationCounts {
  const diff = (x: Record<string, number>, y: Record<string, number>) =>
    Object.fromEntries(
      [...new Set([...Object.keys(x), ...Object.keys(y)])].map((k) => [k, ((x[k] ?? 0) - (y[k] ?? 0)) / n]),
    );
  return {
    serviceBus: diff(a.serviceBus, b.serviceBus),
    blob: diff(a.blob, b.blob),
    table: diff(a.table, b.table),
    postgresWrites: (a.postgresWrites - b.postgresWrites) / n,
    redisPublishes: (a.redisPublishes - b.redisPublishes) / n,
  };
}

const perTask = (counts: OperationCounts, tasks: number) => marginal(counts, emptyCounts(), tasks);

/** a + b × n, key by key. */
function plus(a: OperationCounts, b: OperationCounts, n: number): OperationCounts {
  return marginal(a, marginal(b, emptyCounts(), -1 / n), 1);
}

type UnitCosts = CostModelResult['perTask'];

/**
 * What the unit costs predict for a task of `steps` steps, `heartbeats` heartbeats and `slices` slices. A task's fixed
 * cost is that of a one-step, one-slice task, so it already holds one step and one slice.
 */
function predict(unit: UnitCosts, steps: number, heartbeats: number, slices: number): OperationCounts {
  return plus(
    plus(plus(unit.fixed, unit.perStep, steps - 1), unit.perHeartbeat, heartbeats),
    unit.perSlice,
    slices - 1,
  );
}

/** The last settlement of a task (its message's complete) follows the task's final status write. */
const SETTLED_MS = 500;
/** How long the sleeping task is watched: longer than the default heartbeat (15 s), which a held worker would send. */
const WAITING_WINDOW_MS = 20_000;

/**
 * Heartbeats of a task running `seconds`: each slice beats every `heartbeatSeconds` from its start, and lasts its
 * budget (the last one what is left). The sizes are chosen so that no beat falls on a slice's end.
 */
function heartbeatsOf(seconds: number, sliceBudgetSeconds: number, heartbeatSeconds: number): number {
  let beats = 0;
  for (let left = seconds; left > 0; left -= sliceBudgetSeconds)
    beats += Math.floor(Math.min(left, sliceBudgetSeconds) / heartbeatSeconds);
  return beats;
}

/** One task-hour with the app's default heartbeat and slice budget. */
function taskHour(unit: UnitCosts, stepEverySeconds: number, settings: Settings): TaskHour {
  const steps = 3600 / stepEverySeconds;
  const heartbeats = heartbeatsOf(3600, settings.sliceBudgetSeconds, settings.heartbeatSeconds);
  const slices = 3600 / settings.sliceBudgetSeconds;
  return { stepEverySeconds, steps, heartbeats, slices, counts: predict(unit, steps, heartbeats, slices) };
}

export interface CostModelSizes {
  /** Tasks of each shape; the per-unit costs are averages over them. */
  tasks: number;
  /** The validation task: steps of 1 s, with this slice budget and heartbeat. */
  validation: { steps: number; sliceBudgetSeconds: number; heartbeatSeconds: number };
}

export const COST_MODEL_SIZES: CostModelSizes = {
  tasks: 4,
  validation: { steps: 60, sliceBudgetSeconds: 20, heartbeatSeconds: 6 },
};

/**
 * Runs simulate tasks through the real local stack (Azurite, the Service Bus emulator, Postgres, Redis, the local
 * Functions host running the worker in this process) and counts each operation. Four shapes separate the cost of a
 * task from that of a step, a heartbeat and a slice; these are combined into task-hours, and a fifth, longer task
 * checks the combination against a measurement.
 */
export async function benchCostModel(sizes: CostModelSizes = COST_MODEL_SIZES): Promise<CostModelResult> {
  const stack = await startBenchStack();
  const probe = instrument(stack.settings.TASKS_STORAGE);
  const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;

  /** Submits `tasks` simulate tasks and waits until every one has succeeded. */
  const runTasks = async (name: string, tasks: number, input: { steps: number; stepMs: number }) => {
    const ids: string[] = [];
    for (let i = 0; i < tasks; i++) {
      ids.push((await submitTask('simulate', input, 'cost-model')).id);
    }
    for (const id of ids) {
      for (;;) {
        const row = await appServices().repository.find(id);
        if (row?.status === 'succeeded') break;
        if (row?.status === 'failed' || row?.status === 'cancelled')
          throw new Error(`${name}: task ${row.status}`);
        await sleep(50);
      }
    }
  };

  /** A worker on a fresh host with these settings, warmed up by a first task that is not counted. */
  const withWorker = async <T>(
    name: string,
    overrides: Record<string, string>,
    work: (settings: Record<string, string>) => Promise<T>,
  ) => {
    const settings = { ...stack.settings, ...overrides };
    Object.assign(process.env, settings);
    await closeAppServices();
    const host: LocalHost = await startLocalHost({
      triggers: triggers.filter((t) => t.kind === 'serviceBus'),
      port: 0,
      settings,
      hostJson,
      log: () => undefined,
    });
    try {
      // A first task pays what a fresh process pays once (creating containers and tables): not a task's cost.
      await runTasks(`${name} warm-up`, 1, { steps: 1, stepMs: 0 });
      await sleep(SETTLED_MS);
      return await work(settings);
    } finally {
      await host.close();
      await closeAppServices();
    }
  };

  const run = (
    name: string,
    tasks: number,
    input: { steps: number; stepMs: number },
    overrides: Record<string, string>,
  ) =>
    withWorker(name, overrides, async (settings) => {
      probe.reset();
      await runTasks(name, tasks, input);
      await sleep(SETTLED_MS);
      const counts = probe.counts();
      const slices = (counts.serviceBus.receive ?? 0) / tasks;
      const { sliceBudgetSeconds, heartbeatSeconds } = loadSettings(settings);
      const heartbeats = heartbeatsOf(
        (input.steps * input.stepMs) / 1000,
        sliceBudgetSeconds,
        heartbeatSeconds,
      );
      return { name, tasks, steps: input.steps, slices, heartbeats, counts: structuredClone(counts) };
    });

  /** A task that sleeps an hour: once it waits, what it costs over a window longer than a heartbeat. */
  const waitingHour = () =>
    withWorker('waiting', {}, async () => {
      const task = await submitTask(
        'simulate',
        { steps: 2, stepMs: 0, sleepAtStep: 1, sleepMs: 3_600_000 },
        'cost-model',
      );
      let row = await appServices().repository.find(task.id);
      while (row?.status !== 'waiting') {
        await sleep(50);
        row = await appServices().repository.find(task.id);
      }
      await sleep(SETTLED_MS);
      probe.reset();
      await sleep(WAITING_WINDOW_MS);
      const counts = structuredClone(probe.counts());
      const { live } = await appServices().checkpoints.leaseState(task.id);
      await appServices().tasks.cancel(undefined, task.id);
      return {
        windowSeconds: WAITING_WINDOW_MS / 1000,
        counts,
        leaseHeld: live,
        wakeInSeconds: ((row.wakeAt?.getTime() ?? 0) - Date.now()) / 1000,
      };
    });

  try {
    const quiet = { HEARTBEAT_SECONDS: '60', LEASE_SECONDS: '180', SLICE_BUDGET_SECONDS: '480' };
    const { tasks, validation: v } = sizes;
    // Steps of a second, as in the task-hours: a step's progress is then published live and again when persisted
    // at the step boundary; steps of a few ms share one live publish (design §3 throttles it to ten a second).
    const one = await run('one step', tasks, { steps: 1, stepMs: 1_000 }, quiet);
    const many = await run('21 steps', tasks, { steps: 21, stepMs: 1_000 }, quiet);
    const beats = await run(
      'heartbeats',
      tasks,
      { steps: 1, stepMs: 5_500 },
      { ...quiet, HEARTBEAT_SECONDS: '1', LEASE_SECONDS: '5' },
    );
    const sliced = await run(
      'slices',
      tasks,
      { steps: 6, stepMs: 1_000 },
      { ...quiet, SLICE_BUDGET_SECONDS: '1' },
    );
    const fixed = perTask(one.counts, tasks);
    const perStep = marginal(perTask(many.counts, tasks), fixed, many.steps - one.steps);
    const perHeartbeat = marginal(perTask(beats.counts, tasks), fixed, beats.heartbeats);
    const extraSlices = sliced.slices - one.slices;
    const perSlice = marginal(
      marginal(perTask(sliced.counts, tasks), fixed, 1),
      marginal(perStep, emptyCounts(), 1 / (sliced.steps - one.steps)),
      extraSlices,
    );
    const unit = { fixed, perStep, perHeartbeat, perSlice };
    const check = await run(
      'validation',
      1,
      { steps: v.steps, stepMs: 1_000 },
      {
        HEARTBEAT_SECONDS: String(v.heartbeatSeconds),
        LEASE_SECONDS: String(v.heartbeatSeconds * 4),
        SLICE_BUDGET_SECONDS: String(v.sliceBudgetSeconds),
      },
    );
    const defaults = loadSettings(stack.settings);
    const waiting = await waitingHour();
    return {
      waiting,
      perTask: unit,
      taskHours: [1, 10].map((every) => taskHour(unit, every, defaults)),
      validation: {
        steps: check.steps,
        slices: check.slices,
        heartbeats: check.heartbeats,
        measured: check.counts,
        predicted: predict(unit, check.steps, check.heartbeats, check.slices),
      },
      runs: [one, many, beats, sliced, check],
    };
  } finally {
    probe.stop();
    await stack.stop();
  }
}
