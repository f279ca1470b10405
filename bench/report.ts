import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import type { CallCostResult } from './call-cost';
import type { CostModelResult, OperationCounts } from './cost-model';
import type { CpuPerTaskResult } from './cpu-per-task';
import type { CriticalPathResult } from './critical-path';
import type { DatasetBenchResult } from './dataset';
import type { EndToEndResult, EndToEndSession } from './end-to-end';
import type { EngineBenchResult } from './engine';
import type { FanoutLevel } from './fanout';
import type { ProgressLevel } from './progress';
import {
  atLeast,
  atMost,
  measured,
  ms,
  n,
  notRun,
  pct,
  ratio,
  SESSION_COLUMNS,
  sumOf,
  table,
  type Chart,
  type Saved,
} from './report-format';
import {
  criticalPathSection,
  criticalPathSummaryRow,
  scaleOutSection,
  scaleOutSummaryRows,
} from './report-azure-latency';
import { cpuSection, cpuSummaryRows } from './report-cpu';
import { profileSection, type ProfileResult } from './report-profiles';
import type { ScrapeBenchResult } from './scrape';
import type { ServiceBusEmulatorBenchResult } from './servicebus-emulator';
import type { SubmitBenchResult } from './submit';
import { format, resolveConfig } from 'prettier';
import { latencyCdf, lineChart } from './svg-chart';

/** Every result the report knows, each optional: the report covers whatever has been run. */
interface Results {
  servicebus?: Saved<ServiceBusEmulatorBenchResult>;
  submit?: Saved<SubmitBenchResult>;
  engine?: Saved<EngineBenchResult>;
  progress?: Saved<{ levels: ProgressLevel[] }>;
  fanout?: Saved<{ levels: FanoutLevel[] }>;
  scrape?: Saved<ScrapeBenchResult>;
  dataset?: Saved<DatasetBenchResult>;
  endToEnd?: Saved<EndToEndResult>;
  costModel?: Saved<CostModelResult>;
  profile?: Saved<ProfileResult>;
  criticalPath?: Saved<CriticalPathResult>;
  /** The critical path as it was before issue 21's cuts, kept for the comparison. */
  criticalPathBefore?: Saved<CriticalPathResult>;
  endToEndAzure?: Saved<EndToEndResult>;
  cpuPerTask?: Saved<CpuPerTaskResult>;
  /** CPU per task as it was before issue 21's cuts, kept for the comparison. */
  cpuPerTaskBefore?: Saved<CpuPerTaskResult>;
  callCost?: Saved<CallCostResult>;
}

function loadResults(dir: string): Results {
  const load = <T>(name: string): Saved<T> | undefined => {
    const file = join(dir, `${name}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Saved<T>) : undefined;
  };
  return {
    servicebus: load('servicebus-emulator'),
    submit: load('submit'),
    engine: load('engine'),
    progress: load('progress'),
    fanout: load('fanout'),
    scrape: load('scrape'),
    dataset: load('dataset'),
    endToEnd: load('end-to-end'),
    costModel: load('cost-model'),
    profile: load('profile'),
    criticalPath: load('critical-path'),
    criticalPathBefore: load('critical-path-before'),
    endToEndAzure: load('end-to-end-azure'),
    cpuPerTask: load('cpu-per-task'),
    cpuPerTaskBefore: load('cpu-per-task-before'),
    callCost: load('call-cost'),
  };
}

/** The summary: each figure, its baseline, the ratio, and the target it was set in an earlier issue. */
function summary(r: Results): string {
  const rows: string[][] = [];
  const sb = r.servicebus;
  if (sb) {
    rows.push([
      'Service Bus emulator, send / receive+complete',
      `${n(sb.sendPerSecond)} / ${n(sb.receiveCompletePerSecond)} msg/s; with --data-dir ` +
        `${n(sb.persistent.sendPerSecond)} / ${n(sb.persistent.receiveCompletePerSecond)} msg/s`,
      '—',
      '—',
      '≥ 6,000 msg/s receive+complete (issue 19)',
      atLeast(sb.receiveCompletePerSecond, 6000, ' msg/s'),
    ]);
  }
  const ten = r.submit?.real.find((x) => x.connections === 10);
  const tenBase = r.submit?.baseline.find((x) => x.connections === 10);
  if (ten && tenBase) {
    const verdicts = [atLeast(ten.requestsPerSecond, 300, ' req/s'), atMost(ten.p99Ms, 100, ' ms')];
    rows.push([
      'Submit at 10 connections',
      `${n(ten.requestsPerSecond)} req/s, p50 ${ms(ten.p50Ms)}, p99 ${ms(ten.p99Ms)}`,
      `no I/O: ${n(tenBase.requestsPerSecond)} req/s, p99 ${ms(tenBase.p99Ms)}`,
      ratio(ten.requestsPerSecond / tenBase.requestsPerSecond),
      '300 req/s with p99 < 100 ms (issue 3)',
      verdicts.every((v) => v === 'met') ? 'met' : `req/s ${verdicts[0]}; p99 ${verdicts[1]}`,
    ]);
  }
  const e = r.engine;
  if (e) {
    rows.push([
      `Engine: ${n(e.checkpoint.steps)} steps of ${e.checkpoint.stepMs} ms`,
      `${n(e.checkpoint.engineMs / 1000, 1)} s (${ms(e.checkpoint.overheadPerStepMs)} per step)`,
      `bare sleeps ${n(e.checkpoint.baselineMs / 1000, 1)} s`,
      ratio(e.checkpoint.baselineMs / e.checkpoint.engineMs),
      '—',
      '—',
    ]);
    rows.push([
      'Work lost when a worker is killed',
      `${e.crash.reExecutedSteps} step(s) re-run`,
      '—',
      '—',
      'at most 1 step (issue 4)',
      e.crash.reExecutedSteps <= 1 ? 'met' : `**missed** by ${e.crash.reExecutedSteps - 1} step(s)`,
    ]);
  }
  for (const p of r.progress?.levels ?? []) {
    rows.push([
      `Progress latency, ${n(p.streams)} stream(s)`,
      `p50 ${ms(p.longhaul.p50Ms)}, p99 ${ms(p.longhaul.p99Ms)}`,
      `bare p50 ${ms(p.bare.p50Ms)}, p99 ${ms(p.bare.p99Ms)}`,
      `${ratio(p.p99Ratio)} (p99)`,
      'p99 < 25 ms (issue 5)',
      atMost(p.longhaul.p99Ms, 25, ' ms'),
    ]);
  }
  for (const l of r.fanout?.levels ?? []) {
    rows.push([
      `Fan-out, ${n(l.streams)} streams: events/s`,
      n(l.longhaul.framesPerSecond),
      `bare ${n(l.bare.framesPerSecond)}`,
      ratio(l.ratio),
      '≥ 0.8 of bare (issue 5)',
      atLeast(l.ratio, 0.8, ''),
    ]);
    const p99 = l.longhaul.latency[0];
    rows.push([
      `Fan-out, ${n(l.streams)} streams: latency at ${p99.rate}/s`,
      `p50 ${ms(p99.p50Ms)}, p99 ${ms(p99.p99Ms)}`,
      `bare p50 ${ms(l.bare.latency[0].p50Ms)}, p99 ${ms(l.bare.latency[0].p99Ms)}`,
      ratio(p99.p99Ms / l.bare.latency[0].p99Ms),
      "p99 < 25 ms (issue 5); p99 ≤ bare's (issue 21)",
      `${atMost(p99.p99Ms, 25, ' ms')}; ${atMost(p99.p99Ms, l.bare.latency[0].p99Ms, ' ms')}`,
    ]);
  }
  const most = Math.max(0, ...(r.fanout?.levels ?? []).map((l) => l.longhaul.streams));
  if (r.fanout) {
    rows.push([
      'Concurrent streams held by one API process',
      n(most),
      '—',
      '—',
      '10,000 (issue 5)',
      // A session fails unless every stream it opens stays open, so the largest level run was held.
      most >= 10_000 ? 'met' : `not tried in this run (largest level ${n(most)})`,
    ]);
  }
  if (r.scrape) {
    rows.push([
      `Crawler, ${r.scrape.pages} local pages`,
      `${n(r.scrape.engine.pagesPerSecond)} pages/s`,
      `bare loop ${n(r.scrape.bare.pagesPerSecond)} pages/s`,
      ratio(r.scrape.engine.pagesPerSecond / r.scrape.bare.pagesPerSecond),
      '—',
      '—',
    ]);
  }
  if (r.dataset) {
    rows.push([
      `Dataset, ${r.dataset.megabytes} MB CSV`,
      `${n(r.dataset.engineMBps, 1)} MB/s`,
      `bare pass ${n(r.dataset.bareMBps, 1)} MB/s`,
      ratio(r.dataset.ratio),
      '≥ 0.85 of bare (issue 6)',
      atLeast(r.dataset.ratio, 0.85, ''),
    ]);
  }
  for (const x of r.endToEnd?.ratios ?? []) {
    const [l, b] = sessionPair(r.endToEnd!, x.workers);
    rows.push([
      `End to end, ${x.workers} worker process(es): latency`,
      `p50 ${ms(l.latency.p50Ms)}, p99 ${ms(l.latency.p99Ms)}`,
      `BullMQ p50 ${ms(b.latency.p50Ms)}, p99 ${ms(b.latency.p99Ms)}`,
      `${ratio(x.p50)} / ${ratio(x.p99)} (p50 / p99)`,
      '—',
      '—',
    ]);
    rows.push([
      `End to end, ${x.workers} worker process(es): burst`,
      `${n(l.burst.tasksPerSecond)} tasks/s`,
      `BullMQ ${n(b.burst.tasksPerSecond)} tasks/s`,
      ratio(x.tasksPerSecond),
      '—',
      '—',
    ]);
  }
  const criticalPath = criticalPathSummaryRow(r.criticalPath);
  if (criticalPath) rows.push(criticalPath);
  rows.push(...scaleOutSummaryRows(r.endToEndAzure));
  rows.push(...cpuSummaryRows(r.cpuPerTask, r.cpuPerTaskBefore, r.callCost));
  if (rows.length === 0) return 'No results yet: `npm run bench`.';
  return table(['Figure', 'Longhaul', 'Baseline (same run)', 'Ratio', 'Target', 'Verdict'], rows);
}

function sessionPair(e: EndToEndResult, workers: number): [EndToEndSession, EndToEndSession] {
  const of = (system: EndToEndSession['system']) =>
    e.sessions.find((s) => s.system === system && s.workers === workers)!;
  return [of('longhaul'), of('bullmq')];
}

function machineLine(r: Results): string {
  const all = Object.values(r).filter((x): x is Saved<object> => x !== undefined);
  if (all.length === 0) return '';
  const m = all.map((x) => x.machine).sort((a, b) => a.date.localeCompare(b.date));
  const last = m[m.length - 1];
  const dates = [...new Set(m.map((x) => x.date.slice(0, 10)))].join(', ');
  const memory = last.memoryGiB === undefined ? '' : ` with ${last.memoryGiB} GiB`;
  return (
    `Machine: ${last.cpus} × ${last.cpu ?? 'unknown CPU'}${memory}, Node ${last.node}; results of ${dates}` +
    `${m.some((x) => x.quick) ? ' (**quick sizes**: a check of the machinery, not figures to quote)' : ''}.`
  );
}

function submitSection(s: Saved<SubmitBenchResult> | undefined): string {
  const head = '## Submit: `POST /api/tasks`';
  if (!s) return `${head}\n\n${notRun('submit')}`;
  const rows = s.real.map((x, i) => {
    const b = s.baseline[i];
    return [
      n(x.connections),
      n(x.requestsPerSecond),
      ms(x.p50Ms),
      ms(x.p99Ms),
      `${x.errors} / ${x.non2xx}`,
      n(b.requestsPerSecond),
      ms(b.p99Ms),
      ratio(x.requestsPerSecond / b.requestsPerSecond),
    ];
  });
  const ten = s.real.find((x) => x.connections === 10);
  const tenBase = s.baseline.find((x) => x.connections === 10);
  const top = s.real[s.real.length - 1];
  const paragraphs = [
    `autocannon against the local host running the app's HTTP triggers on the local stack (Blob on Azurite, Postgres, ` +
      `the Service Bus emulator in the host's process; no worker running, so only submits load the machine), ` +
      `${s.durationSeconds} s per level after a 2 s warm-up. Each accepted submit writes the payload blob, inserts the ` +
      `row and sends the message before it answers. The baseline is the same host and the same body parsing and ` +
      `validation with no I/O. Each level starts on a fresh host and stack: Azurite's in-memory store slows down as ` +
      `blobs pile up (in one session 50 connections fell from 437 to 208 req/s over 30 s of submits, Azurite taking ` +
      `a whole core), which Blob storage in Azure does not.`,
    table(
      [
        'Connections',
        'Submit req/s',
        'p50',
        'p99',
        'Errors / non-2xx',
        'Baseline req/s',
        'Baseline p99',
        'Ratio',
      ],
      rows,
    ),
  ];
  if (ten && tenBase) {
    const reqs = atLeast(ten.requestsPerSecond, 300, ' req/s');
    const p99 = atMost(ten.p99Ms, 100, ' ms');
    paragraphs.push(
      `At 10 connections Longhaul accepts ${n(ten.requestsPerSecond)} tasks/s with p99 ${ms(ten.p99Ms)}. The target ` +
        `for this machine (issue 3) is 300 req/s with p99 under 100 ms: throughput ${reqs}, p99 ${p99}.` +
        (reqs === 'met' && p99 === 'met'
          ? ''
          : ' Every process of the test (autocannon, the host, Azurite, Postgres) shares the 2 cores, and each ' +
            'submit is three writes to three services before it answers; on a busy machine that is what gives.') +
        ` The reference FastAPI + Celery system managed 146–172 req/s with p99 384–424 ms at 20 connections on the ` +
        `same kind of machine (figures from its own documentation, not this run). The I/O, not the framework, is the ` +
        `cost: the baseline answers ${n(tenBase.requestsPerSecond / ten.requestsPerSecond)} times as many requests.`,
    );
  }
  if (ten && top.connections > 10 && top.requestsPerSecond < ten.requestsPerSecond * 1.15) {
    paragraphs.push(
      `At ${top.connections} connections throughput no longer grows (${n(top.requestsPerSecond)} req/s against ` +
        `${n(ten.requestsPerSecond)} at 10): the machine is saturated, and queueing sets the tail (p99 ${ms(top.p99Ms)}).`,
    );
  }
  return [head, measured(s.machine), ...paragraphs].join('\n\n');
}

function engineSection(e: Saved<EngineBenchResult> | undefined): string {
  const head = '## Worker engine: checkpoint overhead and work lost on a crash';
  if (!e) return `${head}\n\n${notRun('engine')}`;
  const c = e.checkpoint;
  return [
    head,
    measured(e.machine),
    "`npm run bench -- engine`: one worker process (the local host running the app's Service Bus trigger) on the " +
      'local stack, default slice budget.',
    table(
      ['Measure', 'Figure'],
      [
        [
          `${n(c.steps)}-step \`simulate\`, ${c.stepMs} ms per step: engine time (started → finished)`,
          `${n(c.engineMs / 1000, 1)} s`,
        ],
        [
          `the same ${n(c.steps)} sleeps of ${c.stepMs} ms with no engine (baseline)`,
          `${n(c.baselineMs / 1000, 1)} s`,
        ],
        [
          'checkpoint overhead',
          `${ms(c.overheadPerStepMs)} per step (${pct(c.overheadShare)} of this tiny step's time)`,
        ],
        [
          `worker killed with SIGKILL after ${e.crash.killedAfterSteps} of ${e.crash.steps} steps (100 ms each): steps executed again`,
          `${e.crash.reExecutedSteps}${e.crash.reExecutedSteps === 1 ? ' (the step in flight)' : ''}`,
        ],
        [
          'time from the kill to the task finishing (lease 3 s, sweeper called once the lease expired)',
          `${n(e.crash.recoveryMs / 1000, 1)} s`,
        ],
      ],
    ),
    'Each step costs one Table transaction (step row + lease ETag check on Azurite), the cancellation check, the ' +
      "progress write and event at the step boundary, and the simulate task's own execution-ledger write. The " +
      `overhead is per step, whatever the step does: ${ms(c.overheadPerStepMs)} is ${pct(c.overheadPerStepMs / 1000)} ` +
      `of a step of one second and ${pct(c.overheadPerStepMs / 10_000)} of a step of ten. Tasks with very many tiny ` +
      'steps should batch work inside a step or use `ctx.checkpoint(state)` in a loop. The reference Celery system restarts a killed task from step ' +
      '1; BullMQ restarts a stalled job from the beginning once its lock expires and the stalled-job check sees it ' +
      '(30 s each by default).',
  ].join('\n\n');
}

function progressSection(p: Saved<{ levels: ProgressLevel[] }> | undefined, charts: Chart[]): string {
  const head = '## Progress latency: `ctx.progress` to an SSE client';
  if (!p) return `${head}\n\n${notRun('progress')}`;
  const L = p.levels;
  charts.push({
    file: 'progress-latency.svg',
    alt: 'Progress latency CDF per number of streams, Longhaul and the bare server',
    svg: latencyCdf(
      'Progress latency: ctx.progress → SSE client',
      L.flatMap((l) => [
        { name: `Longhaul, ${n(l.streams)} stream(s)`, percentilesMs: l.longhaul.percentilesMs },
        { name: `bare, ${n(l.streams)} stream(s)`, percentilesMs: l.bare.percentilesMs, dashed: true },
      ]),
    ),
  });
  const missed = L.filter((l) => l.longhaul.p99Ms > 25);
  const bareMissed = L.filter((l) => l.bare.p99Ms > 25);
  const verdict =
    missed.length === 0
      ? 'Every level is under the 25 ms p99 target (issue 5).'
      : `The 25 ms p99 target (issue 5) is ${missed
          .map((l) => `${atMost(l.longhaul.p99Ms, 25, ' ms')} at ${n(l.streams)} stream(s)`)
          .join(' and ')}` +
        (bareMissed.length === 0
          ? "; the bare server stays under it, so the difference is the API process's own cost per stream (see " +
            'the fan-out section for where it goes).'
          : `, and by the bare server too at ${bareMissed.map((l) => n(l.streams)).join(' and ')} stream(s): ` +
            'a server writes each event once per stream while the worker, Redis, Postgres and the reader share the ' +
            "2 cores, so the tail of many streams on one task moves with the machine's load.");
  return [
    head,
    measured(p.machine),
    '`npm run bench -- progress`: a worker process runs a `simulate` task with a progress call per step (a task of ' +
      'its own for each session); N concurrent streams read it through one SSE ' +
      "server: an API process (the app's HTTP triggers on the local host), or the bare `node:http` SSE server of the " +
      'fan-out benchmark (`bench/bare-sse-server.ts`) on the same Redis channel, the two taking turns going first. ' +
      "The latency is the time from the event's `at` (set when the worker publishes it) to its arrival at the " +
      "client in the bench process, through Redis pub/sub and the server's one shared subscriber.",
    table(
      ['Concurrent streams', 'Server', 'Events measured', 'p50', 'p90', 'p99', 'max', 'Load average'],
      L.flatMap((l) =>
        (['longhaul', 'bare'] as const).map((kind) => {
          const x = l[kind];
          return [
            n(l.streams),
            kind === 'longhaul' ? 'Longhaul' : 'bare `node:http`',
            n(x.events),
            ms(x.p50Ms),
            ms(x.p90Ms),
            ms(x.p99Ms),
            ms(x.maxMs),
            `${n(x.loadAverage[0], 1)} / ${n(x.loadAverage[1], 1)}`,
          ];
        }),
      ),
    ),
    '![Progress latency distribution](images/progress-latency.svg)',
    `Longhaul's p99 is ${L.map(
      (l) => `${ratio(l.p99Ratio)} times the bare server's at ${n(l.streams)} stream(s)`,
    ).join(' and ')}. ` +
      verdict +
      ' The reference FastAPI + Celery system polls once a second (p50 570 ms, p99 990 ms in its own documentation). ' +
      'Fan-out to thousands of streams: next section.',
  ].join('\n\n');
}

/** Longhaul's p99 over the bare server's at the slowest rate, and why it is higher when it is. */
function latencyVsBare(levels: FanoutLevel[]): string {
  const ratios = levels.map((l) => l.longhaul.latency[0].p99Ms / l.bare.latency[0].p99Ms);
  const figures = `Longhaul's p99 is ${ratios.map(ratio).join(', ')} times the bare server's at one event a second`;
  return ratios.every((x) => x > 1.1)
    ? `${figures}: each response body is a WHATWG \`ReadableStream\` the host reads chunk by chunk, as the Functions ` +
        'streaming model requires ([the fan-out profile](#fan-out-at-one-event-a-second) says where each ' +
        "delivery's time goes; the target of issue 21, no worse than the bare server's, is missed for that reason). "
    : `${figures}. `;
}

function fanoutSection(f: Saved<{ levels: FanoutLevel[] }> | undefined, charts: Chart[]): string {
  const head = '## Fan-out: one task, thousands of streams';
  if (!f) return `${head}\n\n${notRun('fanout')}`;
  const L = f.levels;
  charts.push(
    {
      file: 'fanout-events-per-second.svg',
      alt: 'Delivered events per second against concurrent streams, Longhaul and the bare server',
      svg: lineChart({
        title: 'Fan-out: events delivered per second (bursts)',
        xLabel: 'concurrent streams on one task (log scale)',
        yLabel: 'events delivered / s',
        xLog: true,
        series: [
          { name: 'Longhaul', points: L.map((l) => [l.streams, l.longhaul.framesPerSecond]) },
          { name: 'bare node:http', dashed: true, points: L.map((l) => [l.streams, l.bare.framesPerSecond]) },
        ],
      }),
    },
    {
      file: 'fanout-latency.svg',
      alt: 'Publish to client latency at one event a second against concurrent streams',
      svg: lineChart({
        title: `Fan-out: latency at ${L[0]?.longhaul.latency[0].rate ?? 1} event/s`,
        xLabel: 'concurrent streams on one task (log scale)',
        yLabel: 'ms (log scale)',
        xLog: true,
        yLog: true,
        series: [
          { name: 'Longhaul p50', points: L.map((l) => [l.streams, l.longhaul.latency[0].p50Ms]) },
          { name: 'Longhaul p99', points: L.map((l) => [l.streams, l.longhaul.latency[0].p99Ms]) },
          { name: 'bare p50', dashed: true, points: L.map((l) => [l.streams, l.bare.latency[0].p50Ms]) },
          { name: 'bare p99', dashed: true, points: L.map((l) => [l.streams, l.bare.latency[0].p99Ms]) },
        ],
      }),
    },
  );
  const rates = L[0]?.longhaul.latency.map((x) => x.rate) ?? [];
  const bursts = L[0]?.longhaul.bursts.length ?? 0;
  const lat = (x: { p50Ms: number; p99Ms: number }) => `${n(x.p50Ms, 1)} / ${n(x.p99Ms, 1)} ms`;
  const ratios = L.map((l) => l.ratio);
  const worst = Math.min(...ratios);
  const most = Math.max(...L.map((l) => l.longhaul.streams));
  const bullets = [
    `- **${n(most)} streams in one process, without errors**` +
      `${most >= 10_000 ? '' : ' (the 10,000 of the target were not tried in this run)'}, ` +
      `in ${n(L[L.length - 1].longhaul.serverRssOpenMb)} MB. Nothing in the local host limits them: no connection cap, ` +
      'no request timeout, one Redis subscription for all, one file descriptor each.',
    `- **Events/s against the bare server: ${ratios.map(ratio).join(', ')}** (target at least 0.8: ` +
      `${
        worst >= 0.8
          ? 'met at every level'
          : `missed at ${L.filter((l) => l.ratio < 0.8)
              .map((l) => n(l.streams))
              .join(', ')} streams, by up to ${n(0.8 - worst, 2)}`
      }). ` +
      'Three changes made for this benchmark brought Longhaul to these figures: the subscription hub parses each ' +
      'Redis message once for every stream (each stream used to parse it); `sseResponse` encodes a frame once per ' +
      'event (not once per stream) and sends the frames of one event-loop turn as one chunk; and streams that get the ' +
      'same frames in a turn share that chunk (joining it per stream copied a burst once for each stream: at 5,000 ' +
      'streams that took CPU per event from 2.0 to 2.5 µs and the ratio below 0.8 in one run). The bare server writes ' +
      'each frame on its own, so in a burst it makes more writes; the comparison is still the same events to the same ' +
      'clients. Before the changes Longhaul reached 0.16–0.27 of the bare server (18–23 µs of CPU per event: ' +
      'serialization and encoding per stream, parsing per stream, and one web-stream chunk per event and stream). On ' +
      "2 cores shared by the server, the client and Redis, one burst's time varies by about ±30 % from the next, so " +
      'the ratio of one level moves by about 0.2 between runs.',
  ];
  const over = L.filter((l) => l.longhaul.latency[0].p99Ms > 25);
  const bareOver = L.filter((l) => l.bare.latency[0].p99Ms > 25);
  bullets.push(
    over.length === 0
      ? `- **Latency: p99 stays under 25 ms up to ${n(L[L.length - 1].streams)} streams.**`
      : `- **Latency: p99 under 25 ms is missed from ${n(over[0].streams)} streams on** ` +
          `(${over.map((l) => `${ms(l.longhaul.latency[0].p99Ms)} at ${n(l.streams)}`).join(', ')})` +
          `${bareOver.length === over.length ? ', by the bare server too' : ''}. An event that arrives alone cannot ` +
          'be batched: each stream gets one write, and one write costs several µs of CPU here, so the last of ' +
          'hundreds or thousands of streams gets it many ms later. ' +
          latencyVsBare(L) +
          'Thousands of viewers of one task within ' +
          'a few ms need more API instances (each holds its own share of the streams) or Azure Web PubSub, see ' +
          '[streaming](streaming.md#how-the-relay-scales).',
  );
  const slowestOpen = L[L.length - 1];
  bullets.push(
    `- Opening ${n(slowestOpen.streams)} streams took ${n(slowestOpen.longhaul.openSeconds, 1)} s (each does a task ` +
      `lookup and two Postgres reads; the bare server opened them in ${n(slowestOpen.bare.openSeconds, 1)} s).`,
  );
  return [
    head,
    measured(f.machine),
    "`npm run bench -- fanout` (`FANOUT_STREAMS=1000,5000` picks other levels): N concurrent streams on one task's " +
      "`GET /api/tasks/{id}/events`, all served by one API process (the app's HTTP triggers on the local host), fed by " +
      "`progress` events published straight on the task's Redis channel. The baseline is a bare `node:http` SSE server " +
      '(`bench/bare-sse-server.ts`): one Redis subscriber on the same channel, each frame built and encoded once and ' +
      'written to every response, nothing else. Same client, same N, same events, same run; every session starts its ' +
      'server afresh, and the two servers take turns going first. The client is one process on raw sockets that counts ' +
      'frames by scanning the bytes; it also publishes, so publish → receive is timed on one clock. A session opens the ' +
      `N streams (50 at a time), warms up with one burst, publishes at ${rates.join(' and ')} event(s)/s for latency, ` +
      `then ${bursts} bursts of 50 events at once, each timed until every stream has all 50: delivered events/s is ` +
      `N × 50 over that time (the median of the ${bursts}). Server CPU time and memory come from \`/proc\`.`,
    table(
      [
        'Streams',
        'Longhaul events/s',
        'Bare events/s',
        'Ratio',
        'Server CPU per event, Longhaul',
        'Bare',
        'Memory per stream (bare)',
        'Load average',
      ],
      L.map((l) => [
        n(l.streams),
        n(l.longhaul.framesPerSecond),
        n(l.bare.framesPerSecond),
        ratio(l.ratio),
        `${n(l.longhaul.serverCpuUsPerFrame, 1)} µs`,
        `${n(l.bare.serverCpuUsPerFrame, 1)} µs`,
        `${n(l.longhaul.serverRssPerStreamKb)} KB (${n(l.bare.serverRssPerStreamKb)})`,
        `${n(l.longhaul.loadAverage[0], 1)} / ${n(l.bare.loadAverage[0], 1)}`,
      ]),
    ),
    table(
      ['Streams', ...rates.flatMap((rate) => [`p50 / p99 at ${rate}/s, Longhaul`, 'Bare'])],
      L.map((l) => [n(l.streams), ...l.longhaul.latency.flatMap((x, i) => [lat(x), lat(l.bare.latency[i])])]),
    ),
    '![Fan-out events per second](images/fanout-events-per-second.svg)\n![Fan-out latency](images/fanout-latency.svg)',
    bullets.join('\n'),
  ].join('\n\n');
}

function scrapeSection(s: Saved<ScrapeBenchResult> | undefined, e: EngineBenchResult | undefined): string {
  const head = '## Crawler: `scrape` pages per second';
  if (!s) return `${head}\n\n${notRun('scrape')}`;
  const perStep = e?.checkpoint.overheadPerStepMs;
  const engineNote =
    perStep === undefined
      ? ''
      : Math.abs(s.overheadPerPageMs - perStep) <= Math.max(perStep, s.overheadPerPageMs) * 0.5
        ? ` The engine benchmark measured ${ms(perStep)} per \`simulate\` step, so the crawler pays about the engine's ` +
          'ordinary per-step cost and little of its own.'
        : ` The engine benchmark measured ${ms(perStep)} per \`simulate\` step in its own run; the two differ by more ` +
          "than half, which on this shared machine is mostly the load of the moment (each section's load average), so " +
          'compare figures within a run, not across runs.';
  return [
    head,
    measured(s.machine),
    `\`npm run bench -- scrape\`: a ${s.pages}-page site on this machine (a tree, three links down and two back per ` +
      `page, ${n(s.pageBytes / 1024, 1)} KB of HTML each) crawled breadth-first with \`politenessMs: 0\`, through the ` +
      "engine by a worker process (the local host running the app's Service Bus trigger; Azurite, the emulator and the " +
      'site in the bench process, Azurite in its own), from task started to finished. The baseline is a bare loop of the very same work in ' +
      'the bench process — the SSRF-safe client under the per-host cockatiel policies, `node-html-parser`, the frontier ' +
      '— with no steps, checkpoints, progress or events.',
    table(
      ['Through the engine', 'Bare loop', 'Ratio', 'Engine cost per page'],
      [
        [
          `${n(s.engine.pagesPerSecond)} pages/s (${n(s.engine.ms / 1000, 1)} s)`,
          `${n(s.bare.pagesPerSecond)} pages/s (${n(s.bare.ms / 1000, 1)} s)`,
          ratio(s.engine.pagesPerSecond / s.bare.pagesPerSecond),
          ms(s.overheadPerPageMs),
        ],
      ],
    ),
    'Each page is one step: the cancellation check, one Table transaction for the checkpoint (the page report and its ' +
      'links, about 1 KB), and a progress event.' +
      engineNote +
      ` A real crawl waits \`politenessMs\` (500 ms by default) between requests to a host, ${s.overheadPerPageMs < 500 ? 'far longer than this overhead' : 'less than this overhead'}. ` +
      'Where its time goes is profiled below.',
  ].join('\n\n');
}

function datasetSection(d: Saved<DatasetBenchResult> | undefined): string {
  const head = '## Dataset: `dataset` MB/s against a bare pass';
  if (!d) return `${head}\n\n${notRun('dataset')}`;
  const runs = (seconds: number[]) => seconds.map((x) => `${n(x, 1)} s`).join(', ');
  return [
    head,
    measured(d.machine),
    `\`npm run bench -- dataset\`: a generated ${d.megabytes} MB CSV (${n(d.rows)} rows, quoted fields, some malformed ` +
      "rows) in Azurite; the task computes every column's statistics and group-by sums through the engine (a worker " +
      `on the local host, checkpoint every ${d.checkpointMiB} MiB), against a bare single pass of the same parser and ` +
      'aggregates over the same blob stream in the bench process. Bare and engine passes alternate, two of each; the ' +
      'best of each is compared.',
    table(
      ['Engine', 'Bare single pass', 'Ratio', 'Target (issue 6)'],
      [
        [
          `${n(d.engineMBps, 1)} MB/s (${runs(d.engineSeconds)}; ${d.engineSlices} slice(s))`,
          `${n(d.bareMBps, 1)} MB/s (${runs(d.bareSeconds)})`,
          ratio(d.ratio),
          `≥ 0.85: ${atLeast(d.ratio, 0.85, '')}`,
        ],
      ],
    ),
    `The engine's cost is a checkpoint (the byte offset and the aggregates, a Table row or a blob) every ` +
      `${d.checkpointMiB} MiB and a progress event; the rest is csv-parse and the per-field statistics, which both ` +
      'passes share.' +
      (d.ratio < 0.85
        ? ' Below the target the difference is mostly the machine: both passes are CPU-bound on a 2-core machine whose ' +
          'other processes (Azurite serving the blob, Postgres) compete for the same cores, and the best of two runs ' +
          'does not remove that.'
        : ''),
  ].join('\n\n');
}

/** The operations one no-op task (one step) makes, from the cost counters when they have run. */
function operationsPerNoOp(cost: CostModelResult | undefined): string {
  if (!cost) {
    return 'dozens of operations on Storage, Postgres, Service Bus and Redis (`npm run bench -- cost-model` counts them)';
  }
  const { fixed } = cost.perTask;
  const total =
    sumOf(fixed.serviceBus) +
    sumOf(fixed.blob) +
    sumOf(fixed.table) +
    fixed.postgresWrites +
    fixed.redisPublishes;
  return (
    `about ${n(total)} operations on Storage, Postgres, Service Bus and Redis (the cost counters below: a task of ` +
    'one step)'
  );
}

function endToEndSection(
  e: Saved<EndToEndResult> | undefined,
  cost: CostModelResult | undefined,
  charts: Chart[],
): string {
  const head = '## End to end: a no-op task, Longhaul against BullMQ';
  if (!e) return `${head}\n\n${notRun('end-to-end')}`;
  charts.push({
    file: 'end-to-end-latency.svg',
    alt: 'Submit to finished latency CDF, Longhaul and BullMQ, 1 and 4 worker processes',
    svg: latencyCdf(
      'End to end: submit → client sees the task finish',
      e.sessions.map((s) => ({
        name: `${s.system === 'longhaul' ? 'Longhaul' : 'BullMQ'}, ${s.workers} worker(s)`,
        dashed: s.system === 'bullmq',
        percentilesMs: s.latency.percentilesMs,
      })),
    ),
  });
  const z = e.sizes;
  const rows = e.sessions.map((s) => [
    s.system === 'longhaul' ? 'Longhaul' : 'BullMQ',
    n(s.workers),
    ms(s.latency.p50Ms),
    ms(s.latency.p99Ms),
    n(s.burst.tasksPerSecond),
    `${ms(s.burst.latency.p50Ms)} / ${ms(s.burst.latency.p99Ms)}`,
    `${n(s.loadAverage[0], 1)} → ${n(s.loadAverage[1], 1)}`,
  ]);
  const r1 = e.ratios[0];
  const rN = e.ratios[e.ratios.length - 1];
  const scaling = (system: EndToEndSession['system']) => {
    const [a, b] = [z.workerCounts[0], z.workerCounts[z.workerCounts.length - 1]].map(
      (w) => e.sessions.find((s) => s.system === system && s.workers === w)!.burst.tasksPerSecond,
    );
    return b / a;
  };
  return [
    head,
    measured(e.machine),
    '`npm run bench -- end-to-end` (`bench/end-to-end.ts`, baseline in `bench/bullmq-baseline.ts`). **Longhaul**: ' +
      '`POST /api/tasks` to an API process, a one-step `simulate` with `stepMs: 0` (the cheapest real task: one ' +
      'checkpointed step, its progress report and the ledger write of the simulate task) run by worker processes (the ' +
      "local host running the Service Bus trigger), until the client sees `end` on the task's SSE stream. **BullMQ** " +
      `(the \`bullmq\` package, a dev dependency of the benchmark) on the same Redis: \`Queue.add\`, worker processes ` +
      `whose job calls \`job.updateProgress(100)\` and returns, until \`QueueEvents\` reports \`completed\`. Worker ` +
      `processes run ${e.workerConcurrency} jobs at once in both systems (host.json \`maxConcurrentCalls\`). The client ` +
      'is a process of its own. Each session warms up with ' +
      `${z.warmupTasks} tasks, runs ${z.latencyTasks} one after the other (latency with nothing else in flight), then a ` +
      `burst of ${n(z.burstTasks)} with ${z.burstConcurrency} submissions in flight, whose end the client learns from ` +
      "one shared feed: `GET /api/events` (the caller's stream, terminal `status` events) for Longhaul, `QueueEvents` " +
      "for BullMQ. Tasks/s is the burst's size over the time from its first submit to its last end.",
    table([...SESSION_COLUMNS, 'Burst latency p50 / p99', 'Load average'], rows),
    table(
      ['Worker processes', 'Latency p50, Longhaul / BullMQ', 'p99', 'Tasks/s, Longhaul / BullMQ'],
      e.ratios.map((x) => [n(x.workers), `${n(x.p50, 1)}×`, `${n(x.p99, 1)}×`, ratio(x.tasksPerSecond)]),
    ),
    '![End-to-end latency distribution](images/end-to-end-latency.svg)',
    `With ${r1.workers} worker process a no-op takes ${n(r1.p50, 1)} times BullMQ's p50 and Longhaul completes ` +
      `${ratio(r1.tasksPerSecond)} of its tasks/s; with ${rN.workers}, ${n(rN.p50, 1)} times and ${ratio(rN.tasksPerSecond)}. ` +
      `Going from ${z.workerCounts[0]} to ${z.workerCounts[z.workerCounts.length - 1]} worker processes changes ` +
      `Longhaul's burst throughput ${n(scaling('longhaul'), 2)}× and BullMQ's ${n(scaling('bullmq'), 2)}×. ` +
      (scaling('longhaul') < 0.9
        ? `On 2 cores shared with the stack, ${z.workerCounts[z.workerCounts.length - 1]} worker processes of ` +
          `${e.workerConcurrency} concurrent tasks each compete for the same CPU and the same Azurite and Postgres, ` +
          'and Longhaul loses throughput; more worker processes pay only with more cores (in Azure, more instances).'
        : scaling('longhaul') <= 1.3
          ? 'On 2 cores shared with the stack, more worker processes mostly share the same CPU.'
          : 'More worker processes add throughput even on these 2 cores: a single worker waits more than it computes.'),
    'What the difference buys: BullMQ keeps a job in Redis memory and its progress as a field of it, so one Redis ' +
      'round trip or two is the whole job. Longhaul makes every accepted task durable before answering (payload ' +
      'blob, Postgres row, Service Bus message), takes a lease, checkpoints the step in Table storage, writes the ' +
      'progress and status events to Postgres before publishing them, and stores the result in Blob storage: ' +
      `${operationsPerNoOp(cost)} per task, each a loopback round trip here and a network one in Azure. ` +
      'In exchange a task survives the loss of any process at a step boundary, its events can be ' +
      'replayed after a reconnect, and nothing is lost when Redis is. For tasks that run seconds to hours (what ' +
      'Longhaul is for) this fixed cost per task and per step is small; for floods of millisecond jobs BullMQ is the ' +
      'better tool.',
  ].join('\n\n');
}

function costSection(c: Saved<CostModelResult> | undefined): string {
  const head = '## Cost counters: operations per task-hour';
  if (!c) return `${head}\n\n${notRun('cost-model')}`;
  const kinds = (o: OperationCounts) => [
    n(sumOf(o.serviceBus), 1),
    n(sumOf(o.blob), 1),
    n(sumOf(o.table), 1),
    n(o.postgresWrites, 1),
    n(o.redisPublishes, 1),
  ];
  const v = c.validation;
  const off = (a: number, b: number) => (b === 0 ? (a === 0 ? '0 %' : '—') : pct((a - b) / b));
  return [
    head,
    measured(c.machine),
    '`npm run bench -- cost-model` (`bench/cost-model.ts`) counts every operation of `simulate` tasks on the real local ' +
      'stack, by kind, where it is made (see [sizing](sizing.md#cost-model)). An hour-long run per shape would take ' +
      'hours, so the task-hour is **extrapolated**: four short shapes give the cost of a task, a step, a heartbeat and a ' +
      'slice, combined for an hour with the default heartbeat and slice budget; a fifth, real task of ' +
      `${v.steps} steps of 1 s over ${n(v.slices, 1)} slices and ${n(v.heartbeats)} heartbeats checks the combination. ` +
      'Steps last 1 s, as in the task-hours (a step of a few ms shares its live progress publish with the next, since ' +
      'live progress is throttled to ten a second), and each run starts with a warm-up task that is not counted: a ' +
      'fresh worker process creates its containers and tables once, which is not the cost of a task.',
    table(
      [
        'Per …',
        'Service Bus ops',
        'Blob writes / reads',
        'Table transactions',
        'Postgres writes',
        'Redis publishes',
      ],
      (
        [
          ['task (submit, one step, one slice, finish)', c.perTask.fixed],
          ['further step (`ctx.step` checkpoint + progress)', c.perTask.perStep],
          ['heartbeat (every `HEARTBEAT_SECONDS`)', c.perTask.perHeartbeat],
          ['further slice (continuation)', c.perTask.perSlice],
        ] as const
      ).map(([name, o]) => {
        const [serviceBus, , table, postgres, redis] = kinds(o);
        const writes = (o.blob.PUT ?? 0) + (o.blob.DELETE ?? 0);
        return [
          name,
          serviceBus,
          `${n(writes, 1)} / ${n(sumOf(o.blob) - writes, 1)}`,
          table,
          postgres,
          redis,
        ];
      }),
    ),
    table(
      [
        'Task-hour',
        'Service Bus ops',
        'Blob ops',
        'Table transactions',
        'Postgres writes',
        'Redis publishes',
      ],
      c.taskHours.map((h) => [
        `a step (and progress) every ${h.stepEverySeconds} s: ${n(h.steps)} steps, ${n(h.heartbeats)} heartbeats, ${n(h.slices, 1)} slices`,
        ...kinds(h.counts),
      ]),
    ),
    table(
      [
        'Check task',
        'Service Bus ops',
        'Blob ops',
        'Table transactions',
        'Postgres writes',
        'Redis publishes',
      ],
      [
        ['measured', ...kinds(v.measured)],
        ['predicted from the unit costs', ...kinds(v.predicted)],
        [
          'difference',
          off(sumOf(v.measured.serviceBus), sumOf(v.predicted.serviceBus)),
          off(sumOf(v.measured.blob), sumOf(v.predicted.blob)),
          off(sumOf(v.measured.table), sumOf(v.predicted.table)),
          off(v.measured.postgresWrites, v.predicted.postgresWrites),
          off(v.measured.redisPublishes, v.predicted.redisPublishes),
        ],
      ],
    ),
    'Service Bus lock renewals are not in these counts: the local host does not renew locks, the Azure host does ' +
      '(about once every 50 s of a slice); docs/sizing.md adds them.',
    ...(c.waiting ? [waitingParagraph(c.waiting, kinds)] : []),
  ].join('\n\n');
}

/** What a task asleep for an hour cost while it was watched: the claim is nothing, since no worker holds it. */
function waitingParagraph(w: CostModelResult['waiting'], kinds: (o: OperationCounts) => string[]): string {
  const total =
    sumOf(w.counts.serviceBus) +
    sumOf(w.counts.blob) +
    sumOf(w.counts.table) +
    w.counts.postgresWrites +
    w.counts.redisPublishes;
  return (
    `**A waiting task.** A task asleep for an hour (\`ctx.sleep\`, wake-up due in ${n(w.wakeInSeconds / 60)} min) was ` +
    `watched for ${n(w.windowSeconds)} s, longer than the default heartbeat: ${n(total)} operations ` +
    `(Service Bus, Blob, Table, Postgres writes, Redis publishes: ${kinds(w.counts).join(', ')}), and ` +
    `${w.leaseHeld ? 'a lease held' : 'no lease held'}. No worker holds it, so its hour costs the slice that ends ` +
    'on the sleep, one scheduled message and the slice that wakes it, whatever the length of the wait.'
  );
}

function serviceBusSection(sb: Saved<ServiceBusEmulatorBenchResult> | undefined): string {
  const head = '## Service Bus emulator';
  if (!sb) return `${head}\n\n${notRun('servicebus-emulator')}`;
  return [
    head,
    measured(sb.machine),
    `\`npm run bench -- servicebus-emulator\`, ${n(sb.messages)} messages through the SDK against the emulator in its ` +
      `own process: ${n(sb.sendPerSecond)} msg/s single sends (${sb.sendConcurrency} in flight), ` +
      `${n(sb.batchSendPerSecond)} msg/s in arrays of 100, ${n(sb.receiveCompletePerSecond)} msg/s receive + complete ` +
      `(CPU a message: the emulator ${n(sb.emulatorCpuMicrosPerReceiveComplete)} µs, the SDK client ` +
      `${n(sb.clientCpuMicrosPerReceiveComplete)} µs). With \`--data-dir\`, where ` +
      `every acknowledgement waits for its journal records' fdatasync: ${n(sb.persistent.sendPerSecond)}, ` +
      `${n(sb.persistent.batchSendPerSecond)} and ${n(sb.persistent.receiveCompletePerSecond)} msg/s ` +
      `(${n(sb.persistent.emulatorCpuMicrosPerReceiveComplete)} µs a message). The aim (issue 19) is 6,000 msg/s ` +
      `receive + complete: ${atLeast(sb.receiveCompletePerSecond, 6000, ' msg/s')}. The SDK client and the emulator ` +
      "share the machine's 2 cores, so the rate follows the load of the moment; see " +
      '[local development](local-development.md#service-bus-emulator-throughput).',
  ].join('\n\n');
}

/**
 * Regenerates the performance doc and its charts from the results in `resultsDir`. The doc goes through Prettier with
 * the repository's settings, so `npm run lint` accepts it as generated.
 */
export async function writeReport(resultsDir: string, docPath: string, imagesDir: string): Promise<void> {
  const r = loadResults(resultsDir);
  const charts: Chart[] = [];
  const sections = [
    '# Performance',
    '<!-- Generated by bench/report.ts from bench/results/*.json (`npm run bench`): edit the generator, not this file. -->',
    "Every figure here comes from `npm run bench` on this project's reference machine, with its baseline measured in " +
      'the same run: absolute numbers on a shared 2-core machine mean little, ratios measured side by side do. Every ' +
      'process of a benchmark (load generator, Functions hosts, Azurite, the Service Bus emulator, Postgres, Redis) ' +
      'shares the same cores, so the absolute numbers are a floor. `npm run bench -- <name>` runs one benchmark ' +
      '(results in `bench/results/<name>.json`) and regenerates this file from every result there; ' +
      '`npm run bench:quick` runs all of them at small sizes into `bench/results/quick/`, to check the machinery. ' +
      'Every benchmark has fixed sizes and time-outs and talks to loopback addresses only; no test depends on a figure.',
    machineLine(r),
    '## Summary',
    "Ratio: Longhaul's figure over its baseline's from the same run. For throughput (req/s, events/s, pages/s, " +
      'MB/s, tasks/s) below 1 means Longhaul is slower; for latencies above 1 does. Targets are the aims set by the ' +
      'issue that built each part; a missed one says by how much, and its section says why.',
    summary(r),
    submitSection(r.submit),
    engineSection(r.engine),
    progressSection(r.progress, charts),
    fanoutSection(r.fanout, charts),
    endToEndSection(r.endToEnd, r.costModel, charts),
    criticalPathSection(r.criticalPath, r.criticalPathBefore),
    scaleOutSection(r.endToEndAzure),
    cpuSection(r.cpuPerTask, r.cpuPerTaskBefore, r.callCost),
    scrapeSection(r.scrape, r.engine),
    profileSection(r.profile),
    datasetSection(r.dataset),
    costSection(r.costModel),
    serviceBusSection(r.servicebus),
  ];
  mkdirSync(imagesDir, { recursive: true });
  for (const chart of charts) writeFileSync(join(imagesDir, chart.file), chart.svg);
  const rel = relative(dirname(docPath), imagesDir) || '.';
  const markdown = sections
    .filter(Boolean)
    .join('\n\n')
    .replace(/\]\(images\//g, `](${rel}/`);
  const options = (await resolveConfig(docPath)) ?? {};
  writeFileSync(docPath, await format(markdown, { ...options, filepath: docPath }));
}
