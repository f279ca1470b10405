import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchAzuriteDurability, type AzuriteDurabilityBenchResult } from './azurite-durability';
import { benchCallCost, CALL_COST_SIZES, type CallCostResult } from './call-cost';
import { benchCostModel, COST_MODEL_SIZES, type CostModelResult } from './cost-model';
import { benchCpuPerTask, CPU_PER_TASK_SIZES, type CpuPerTaskResult } from './cpu-per-task';
import { benchCriticalPath, CRITICAL_PATH_SIZES, type CriticalPathResult } from './critical-path';
import { benchDataset, type DatasetBenchResult } from './dataset';
import { DEFAULT_LATENCY_PROFILE } from './azure-latency';
import {
  AZURE_END_TO_END_SIZES,
  benchEndToEnd,
  END_TO_END_SIZES,
  profileEndToEnd,
  type EndToEndResult,
  type EndToEndSizes,
} from './end-to-end';
import { benchEngine, type EngineBenchResult } from './engine';
import { benchLocalStart, type LocalStartResult } from './local-start';
import { benchFanout, FANOUT_SIZES, profileFanout, type FanoutLevel } from './fanout';
import { benchProgress, PROGRESS_SIZES, type ProgressLevel } from './progress';
import { writeReport } from './report';
import type { ProfileResult } from './report-profiles';
import { benchScrape } from './scrape';
import { benchServiceBusEmulator, type ServiceBusEmulatorBenchResult } from './servicebus-emulator';
import { benchSubmit, type SubmitBenchResult } from './submit';

interface Benchmark {
  /**
   * Runs the benchmark, small with `quick`, under the Azure latency model `latency` where it has one; the result is
   * saved as bench/results/<name>.json.
   */
  run(quick: boolean, latency: string): Promise<object>;
  /** One or more lines for the console. */
  print(result: never): string[];
}

const QUICK_END_TO_END: EndToEndSizes = {
  workerCounts: [1, 4],
  warmupTasks: 5,
  latencyTasks: 20,
  burstTasks: 60,
  burstConcurrency: 16,
};

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);

/** Every benchmark, in the order `npm run bench` runs them. Each is bounded: fixed sizes and time-outs, loopback only. */
const benchmarks: Record<string, Benchmark> = {
  'servicebus-emulator': {
    run: (quick) => benchServiceBusEmulator(quick ? 500 : 20_000),
    print: (sb: ServiceBusEmulatorBenchResult) => [
      `send ${f0(sb.sendPerSecond)} msg/s (single messages, ${sb.sendConcurrency} in flight), batch send ` +
        `${f0(sb.batchSendPerSecond)} msg/s, receive+complete ${f0(sb.receiveCompletePerSecond)} msg/s ` +
        `(CPU each: emulator ${f0(sb.emulatorCpuMicrosPerReceiveComplete)} µs, client ${f0(sb.clientCpuMicrosPerReceiveComplete)} µs; ${sb.messages} messages)`,
      `with --data-dir: send ${f0(sb.persistent.sendPerSecond)} msg/s, batch send ${f0(sb.persistent.batchSendPerSecond)} ` +
        `msg/s, receive+complete ${f0(sb.persistent.receiveCompletePerSecond)} msg/s ` +
        `(CPU each: emulator ${f0(sb.persistent.emulatorCpuMicrosPerReceiveComplete)} µs, client ${f0(sb.persistent.clientCpuMicrosPerReceiveComplete)} µs)`,
    ],
  },
  'local-start': {
    run: (quick) => benchLocalStart(quick ? 1 : 5),
    print: (l: LocalStartResult) => [
      `npm start with only Node (embedded PostgreSQL, no Redis), medians of ${l.runs}: first start ` +
        `${f1(l.medians.firstStartMs / 1000)} s, restart ${f1(l.medians.restartMs / 1000)} s, ` +
        `stop ${f1(l.medians.stopMs / 1000)} s`,
    ],
  },
  'azurite-durability': {
    run: (quick) => benchAzuriteDurability(quick ? 200 : 2_000),
    print: (a: AzuriteDurabilityBenchResult) =>
      a.modes.map(
        (m) =>
          `${m.durability}: table upserts ${f0(m.tableUpserts.perSecond)}/s (p50 ${f1(m.tableUpserts.latency.p50Ms)} ms, ` +
          `${f0(m.concurrentTableUpsertsPerSecond)}/s with ${a.concurrency} in flight), blob uploads ` +
          `${f0(m.blobUploads.perSecond)}/s (p50 ${f1(m.blobUploads.latency.p50Ms)} ms), restart ${f0(m.restartMs)} ms`,
      ),
  },
  engine: {
    run: (quick) => benchEngine(quick ? 100 : 1_000),
    print: (e: EngineBenchResult) => [
      `${e.checkpoint.steps} steps of ${e.checkpoint.stepMs} ms took ${f1(e.checkpoint.engineMs / 1000)} s vs ` +
        `${f1(e.checkpoint.baselineMs / 1000)} s of bare sleeps: ${f1(e.checkpoint.overheadPerStepMs)} ms per step`,
      `worker killed after ${e.crash.killedAfterSteps} of ${e.crash.steps} steps: ${e.crash.reExecutedSteps} step(s) ` +
        `re-executed, finished ${f1(e.crash.recoveryMs / 1000)} s after the kill`,
    ],
  },
  dataset: {
    run: (quick) => benchDataset(quick ? 10 : undefined),
    print: (d: DatasetBenchResult) => [
      `${d.megabytes} MB: engine ${f1(d.engineMBps)} MB/s vs bare ${f1(d.bareMBps)} MB/s: ratio ${d.ratio.toFixed(2)}`,
    ],
  },
  progress: {
    run: (quick) => benchProgress(quick ? { streams: [1, 20], steps: 20, stepMs: 50 } : PROGRESS_SIZES),
    print: ({ levels }: { levels: ProgressLevel[] }) =>
      levels.map(
        (l) =>
          `${l.streams} stream(s): Longhaul p50 ${l.longhaul.p50Ms} ms, p99 ${l.longhaul.p99Ms} ms ` +
          `(${l.longhaul.events} events); bare p50 ${l.bare.p50Ms} ms, p99 ${l.bare.p99Ms} ms: p99 ratio ${l.p99Ratio.toFixed(2)}`,
      ),
  },
  fanout: {
    run: (quick) => benchFanout(quick ? { levels: [100, 300], latencySeconds: 2 } : FANOUT_SIZES),
    print: ({ levels }: { levels: FanoutLevel[] }) =>
      levels.map(
        (l) =>
          `${l.streams} streams: Longhaul ${f0(l.longhaul.framesPerSecond)} events/s, bare ${f0(l.bare.framesPerSecond)}: ` +
          `ratio ${l.ratio.toFixed(2)}; p99 at 1/s ${f1(l.longhaul.latency[0].p99Ms)} vs ${f1(l.bare.latency[0].p99Ms)} ms`,
      ),
  },
  scrape: {
    run: (quick) => benchScrape(quick ? 60 : 300),
    print: (s: { pages: number; engine: { pagesPerSecond: number }; bare: { pagesPerSecond: number } }) => [
      `${s.pages} pages: engine ${f0(s.engine.pagesPerSecond)} pages/s, bare ${f0(s.bare.pagesPerSecond)} pages/s`,
    ],
  },
  'end-to-end': {
    run: (quick) => benchEndToEnd(quick ? QUICK_END_TO_END : END_TO_END_SIZES),
    print: (e: EndToEndResult) =>
      e.sessions.map(
        (s) =>
          `${s.system}, ${s.workers} worker process(es): p50 ${f1(s.latency.p50Ms)} ms, p99 ${f1(s.latency.p99Ms)} ms; ` +
          `burst of ${s.burst.tasks}: ${f0(s.burst.tasksPerSecond)} tasks/s`,
      ),
  },
  'end-to-end-azure': {
    run: (quick, latency) =>
      benchEndToEnd(quick ? { ...QUICK_END_TO_END, workerCounts: [1, 2] } : AZURE_END_TO_END_SIZES, latency),
    print: (e: EndToEndResult) =>
      e.sessions.map(
        (s) =>
          `${s.system} under ${e.latencyProfile}, ${s.workers} worker process(es): p50 ${f1(s.latency.p50Ms)} ms, ` +
          `p99 ${f1(s.latency.p99Ms)} ms; burst of ${s.burst.tasks}: ${f0(s.burst.tasksPerSecond)} tasks/s`,
      ),
  },
  'critical-path': {
    run: (quick, latency) =>
      benchCriticalPath(quick ? { warmupTasks: 3, tasks: 10, sweepRttMs: 10 } : CRITICAL_PATH_SIZES, latency),
    print: (c: CriticalPathResult) => [
      `serial round trips of a no-op task: ` +
        Object.entries(c.roundTrips)
          .map(([service, r]) => `${service} ${f1(r.total)}`)
          .join(', '),
      `under ${c.profileName}: p50 ${f1(c.modelP50Ms)} ms against ${f1(c.criticalPathMs)} ms of round trips: ` +
        `ratio ${c.ratio.toFixed(2)}`,
    ],
  },
  'cpu-per-task': {
    run: (quick) =>
      benchCpuPerTask(
        quick
          ? { coldTasks: 20, tasks: 30, stepTasks: 10, stepsPerTask: 5, rounds: 1, concurrency: 8 }
          : CPU_PER_TASK_SIZES,
      ),
    print: (c: CpuPerTaskResult) => [
      `API per submit: cold ${f1(c.cold.apiMsPerSubmit)} ms, warm ${f1(c.warm.apiMsPerSubmit)} ms`,
      `worker per no-op task: cold ${f1(c.cold.workerMsPerTask)} ms, warm ${f1(c.warm.workerMsPerTask)} ms; ` +
        `per step ${f1(c.steps.workerMsPerStep)} ms`,
    ],
  },
  'call-cost': {
    run: (quick) => benchCallCost(quick ? { warmup: 20, calls: 50 } : CALL_COST_SIZES),
    print: (c: CallCostResult) =>
      Object.entries(c.totals).map(
        ([side, t]) => `${side}: ${t.calls} calls, ${f1(t.cpuMs)} ms of CPU, ${f1(t.wallMs)} ms of wall time`,
      ),
  },
  // The stages furthest from their baselines (a no-op task end to end, the crawler) under CPU profilers; their own
  // figures are not the benchmarks'.
  profile: {
    run: async (quick) => ({
      endToEnd: await profileEndToEnd(quick ? { ...QUICK_END_TO_END, workerCounts: [1] } : undefined),
      scrape: await benchScrape(quick ? 60 : 300, true),
      fanout: await profileFanout(quick ? 500 : 10_000),
    }),
    print: (p: Required<ProfileResult>) => [
      ...Object.entries(p.endToEnd.profiles).map(
        ([name, s]) => `end to end, ${name} process: busy ${f0(s.busyMs)} ms, idle ${f0(s.idleMs)} ms`,
      ),
      `scrape, worker: busy ${f0(p.scrape.profiles!.worker.busyMs)} ms, idle ${f0(p.scrape.profiles!.worker.idleMs)} ms`,
      `fan-out at 1 event/s: Longhaul ${f1(p.fanout.longhaul.cpuUsPerFrame)} µs of CPU per delivered event, bare ` +
        `${f1(p.fanout.bare.cpuUsPerFrame)} µs`,
    ],
  },
  submit: {
    run: (quick) => benchSubmit(quick ? 2 : 10),
    print: (s: SubmitBenchResult) =>
      [...s.real.map((r) => ['submit', r] as const), ...s.baseline.map((r) => ['no I/O', r] as const)].map(
        ([name, r]) =>
          `${name}: ${r.connections} connections: ${f0(r.requestsPerSecond)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`,
      ),
  },
  'cost-model': {
    run: (quick) =>
      benchCostModel(
        quick
          ? { tasks: 2, validation: { steps: 8, sliceBudgetSeconds: 4, heartbeatSeconds: 3 } }
          : COST_MODEL_SIZES,
      ),
    print: (c: CostModelResult) => [
      ...c.taskHours.map(
        (h) =>
          `task-hour, a step every ${h.stepEverySeconds} s: Table ${f0(sum(h.counts.table))}, Postgres writes ` +
          `${f0(h.counts.postgresWrites)}, Redis publishes ${f0(h.counts.redisPublishes)}, Service Bus ${f0(sum(h.counts.serviceBus))}`,
      ),
      `asleep for an hour, watched ${c.waiting.windowSeconds} s: Table ${f0(sum(c.waiting.counts.table))}, Postgres ` +
        `writes ${f0(c.waiting.counts.postgresWrites)}, Service Bus ${f0(sum(c.waiting.counts.serviceBus))}, ` +
        `lease ${c.waiting.leaseHeld ? 'held' : 'free'}`,
    ],
  },
};

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/**
 * Bounds a benchmark: every one has fixed sizes, but a lost task or message would otherwise wait forever. On time-out
 * the run fails and exits, and the children it started are killed (bench/processes.ts).
 */
function withTimeout<T>(work: Promise<T>, name: string, minutes: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name} did not finish within ${minutes} minutes`)),
      minutes * 60_000,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `node dist/bench/run.js [--quick] [name ...]`: runs every benchmark (or those named), writes each result to
 * bench/results/<name>.json, then regenerates docs/performance.md and its charts from every result there. `--quick`
 * runs small sizes into bench/results/quick/ (report included), to check the machinery, not to publish figures.
 */
async function main(): Promise<void> {
  // Ctrl-C or a time-out from outside: exit, so that the children still running are killed (bench/processes.ts).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(1));
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  // `--azure-latency[=<profile>]`: the benchmarks with a latency model run under that profile, and `end-to-end`
  // means its run under the model, `end-to-end-azure`.
  const latencyFlag = args.find((a) => a === '--azure-latency' || a.startsWith('--azure-latency='));
  const latency = latencyFlag?.split('=')[1] ?? DEFAULT_LATENCY_PROFILE;
  const only = args
    .filter((a) => a !== '--quick' && a !== latencyFlag)
    .map((a) => (latencyFlag && a === 'end-to-end' ? 'end-to-end-azure' : a));
  const unknown = only.filter((name) => !(name in benchmarks));
  if (unknown.length > 0) {
    throw new Error(
      `unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`,
    );
  }
  const root = join(__dirname, '..', '..');
  const resultsDir = join(root, 'bench', 'results', ...(quick ? ['quick'] : []));
  mkdirSync(resultsDir, { recursive: true });
  for (const [name, benchmark] of Object.entries(benchmarks)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const machine = {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      date: new Date().toISOString(),
      loadAverage: loadavg()[0],
      quick,
    };
    const started = performance.now();
    const result = await withTimeout(benchmark.run(quick, latency), name, quick ? 5 : 20);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    writeFileSync(
      join(resultsDir, `${name}.json`),
      JSON.stringify({ machine: { ...machine, seconds }, ...result }, null, 2) + '\n',
    );
    for (const line of benchmark.print(result as never)) console.log(`${name}: ${line}`);
    console.log(`${name}: done in ${seconds} s`);
  }
  const report = quick
    ? { doc: join(resultsDir, 'performance.md'), images: join(resultsDir, 'images') }
    : { doc: join(root, 'docs', 'performance.md'), images: join(root, 'docs', 'images') };
  await writeReport(resultsDir, report.doc, report.images);
  console.log(`report: ${report.doc}`);
}

main().then(
  // Clients the benchmarks leave behind (pools, sockets) must not keep the process alive.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
