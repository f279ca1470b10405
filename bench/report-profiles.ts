import type { ProfileSummary } from './cpu-profile';
import type { EndToEndProfile } from './end-to-end';
import type { FanoutProfile } from './fanout';
import { measured, ms, n, notRun, pct, table, type Saved } from './report-format';
import type { ScrapeBenchResult, ScrapeProfiles } from './scrape';

// The profiles section of the performance report: where the stages furthest from their baselines spend their CPU.

/** What `npm run bench -- profile` saves: the stages furthest from their baselines, profiled. */
export interface ProfileResult {
  endToEnd: EndToEndProfile;
  scrape: ScrapeBenchResult & { profiles: ScrapeProfiles };
  /** Absent from results saved before the fan-out profile existed. */
  fanout?: FanoutProfile;
}

function profileTable(p: ProfileSummary): string {
  return [
    table(
      ['App function (with what it calls synchronously)', 'Where', 'CPU time', 'Share of busy time'],
      p.appFunctions
        .slice(0, 10)
        .map((f) => [`\`${f.name}\``, f.where ? `\`${f.where}\`` : '', ms(f.selfMs), pct(f.share)]),
    ),
    table(
      ['Function', 'Where', 'Self time', 'Share of busy time'],
      p.functions
        .slice(0, 12)
        .map((f) => [`\`${f.name}\``, f.where ? `\`${f.where}\`` : '', ms(f.selfMs), pct(f.share)]),
    ),
    table(
      ['Module', 'Self time', 'Share of busy time'],
      p.modules.slice(0, 8).map((m) => [`\`${m.name}\``, ms(m.selfMs), pct(m.share)]),
    ),
  ].join('\n\n');
}

const busyShare = (x: ProfileSummary) => x.busyMs / Math.max(x.busyMs + x.idleMs, 1);

/** One profiled process: how busy it was, where its CPU went. */
function profiledProcess(title: string, p: ProfileSummary): string {
  const top = p.modules[0];
  return [
    `**${title}**: busy ${ms(p.busyMs)} of ${ms(p.busyMs + p.idleMs)} sampled (${pct(busyShare(p))}); the rest it ` +
      `waited. Largest share of its CPU: \`${top?.name ?? '—'}\` (${top ? pct(top.share) : '—'}).`,
    profileTable(p),
  ].join('\n\n');
}

export function profileSection(p: Saved<ProfileResult> | undefined): string {
  const head = '## Profiles of the slowest stages';
  if (!p) return `${head}\n\n${notRun('profile')}`;
  const e = p.endToEnd;
  const s = p.scrape;
  const tasks = e.sizes.warmupTasks + e.sizes.latencyTasks + e.sizes.burstTasks;
  const workerMsPerTask = e.profiles.worker.busyMs / tasks;
  return [
    head,
    measured(p.machine),
    '`npm run bench -- profile` runs the two stages furthest from their baselines again under CPU profilers: child ' +
      "processes under `node --cpu-prof`, the benchmark's own process (which hosts the Service Bus emulator) under the " +
      "inspector's profiler; Azurite runs as a process of its own and is not profiled. Each profile is summarised over " +
      'the measured work only. Profiling slows what it ' +
      "measures, so these runs' own figures are not the benchmarks'. Self time is CPU time spent in the function " +
      'itself; `(idle)` samples (waiting for I/O or timers) are left out of the shares.',
    '### End to end (one worker process)',
    `A Longhaul session of the end-to-end benchmark: ${e.sizes.warmupTasks} warm-up tasks and ` +
      `${e.sizes.latencyTasks} one at a time (p50 ${ms(e.session.latency.p50Ms)} under the profilers), then a burst ` +
      `of ${n(e.sizes.burstTasks)} (${n(e.session.burst.tasksPerSecond)} tasks/s). Per task, the API process spent ` +
      `${ms(e.profiles.api.busyMs / tasks)} of CPU, the worker ${ms(workerMsPerTask)} and the Service Bus emulator ` +
      `${ms(e.profiles.stack.busyMs / tasks)} (inflated by the profilers and by the machine's load; Azurite, Postgres ` +
      `and Redis are not profiled). One worker process can therefore finish at most about ` +
      `${n(1000 / workerMsPerTask)} tasks/s on one core, ` +
      (e.session.burst.tasksPerSecond > (1000 / workerMsPerTask) * 0.6
        ? "close to the burst's rate: a burst is bound by the worker's own CPU, not by waiting on the services, and " +
          'the tables below say where that CPU goes.'
        : "well above the burst's rate: the worker waits on the services more than it computes."),
    profiledProcess('API process', e.profiles.api),
    profiledProcess('Worker process', e.profiles.worker),
    profiledProcess("Benchmark's process (the Service Bus emulator)", e.profiles.stack),
    '### Crawler (`scrape`) through the engine',
    `The crawl of the scrape benchmark: ${n(s.engine.pagesPerSecond)} pages/s under the profilers (bare loop ` +
      `${n(s.bare.pagesPerSecond)}).`,
    profiledProcess('Worker process', s.profiles.worker),
    profiledProcess("Benchmark's process (the Service Bus emulator, the site)", s.profiles.stack),
    `The worker spent ${ms(s.profiles.worker.busyMs / s.pages)} of CPU per page, of the ` +
      `${ms(1000 / s.engine.pagesPerSecond)} each page took through the engine (the bare loop: ` +
      `${ms(1000 / s.bare.pagesPerSecond)}). ` +
      (s.profiles.worker.busyMs / s.pages >= (1000 / s.engine.pagesPerSecond) * 0.6
        ? "Most of a page's time is the worker's own CPU, spread as the tables above show, so cheaper work per " +
          'step (fewer and lighter requests) would pay more than shorter waits.'
        : 'The rest of each page is waiting: on the Table checkpoint with its lease check, the Postgres progress and ' +
          'event writes and the Redis publish, whose services share the same 2 cores; fewer round trips per step ' +
          'would pay more than faster code.'),
    fanoutProfilePart(p.fanout),
  ].join('\n\n');
}

/** The fan-out stage at one event a second: each server's time per delivered event, by part of the code. */
function fanoutProfilePart(f: FanoutProfile | undefined): string {
  const head = '### Fan-out at one event a second';
  if (!f) return `${head}\n\nNot in this run's results: \`npm run bench -- profile\`.`;
  const parts = [...new Set([...Object.keys(f.longhaul.usPerFrame), ...Object.keys(f.bare.usPerFrame)])].sort(
    (a, b) => (f.longhaul.usPerFrame[b] ?? 0) - (f.longhaul.usPerFrame[a] ?? 0),
  );
  const us = (x: number | undefined) => `${n(x ?? 0, 1)} µs`;
  const gap = f.longhaul.cpuUsPerFrame - f.bare.cpuUsPerFrame;
  return [
    head,
    `Each server with ${n(f.longhaul.streams)} streams on one task under \`node --cpu-prof\`, one event published a ` +
      'second; the profile is summed over that phase only (the client reports when it ran, on the clock profiles ' +
      'use) and divided by the events delivered. A sampled native socket write counts the time the process waited ' +
      'in it for a core as well as the time it ran, so that line is larger than its share of CPU.',
    table(
      ['Part', 'Longhaul', 'Bare node:http'],
      [
        ...parts.map((part) => [part, us(f.longhaul.usPerFrame[part]), us(f.bare.usPerFrame[part])]),
        [
          '**CPU per delivered event** (/proc, not profiled)',
          `**${us(f.longhaul.cpuUsPerFrame)}**`,
          `**${us(f.bare.cpuUsPerFrame)}**`,
        ],
        ['p99 under the profiler', ms(f.longhaul.p99Ms), ms(f.bare.p99Ms)],
      ],
    ),
    `An event reaches the streams one after the other, so the last stream's wait, the tail, grows with the cost ` +
      `of one delivery: Longhaul's is ${us(gap)} more than the bare server's. Both make one socket write per stream ` +
      'and event. The rest is what a delivery goes through in a Functions app: the app hands each chunk to the ' +
      "response's web ReadableStream (the body type of @azure/functions' HttpResponse), and the host reads it back " +
      'with a promise per chunk before writing it to the socket, which Azure’s Node worker does too (its proxy ' +
      'response iterates the body stream and writes each chunk); the objects each delivery leaves behind come back ' +
      "as garbage collection. The app's own code is the smallest part. Matching the bare server's tail would take " +
      'leaving the Functions HTTP model for a server of its own.',
  ].join('\n\n');
}
