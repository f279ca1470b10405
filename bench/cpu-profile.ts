import { readdirSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** The parts of a V8 `.cpuprofile` (Chrome DevTools protocol `Profiler.Profile`) used here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  /** Microseconds, on the machine's monotonic clock (the one `process.hrtime` reads). */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  selfMs: number;
  /** Share of the process's busy (non-idle) samples. */
  share: number;
}

export interface ProfileSummary {
  /** The window summarised: the whole profile, or the part that overlaps the measured work. */
  windowMs: number;
  /** Time the process had nothing to run (waiting on I/O or timers). */
  idleMs: number;
  busyMs: number;
  /** By function (name and file:line), highest self time first. */
  functions: (SelfTime & { where: string })[];
  /** By package (node_modules), Node.js core, V8 (GC, compiler) or the app's own folder. */
  modules: SelfTime[];
  /**
   * By the innermost function of the app's own code (dist/functions, dist/local-dev) on the sampled stack: its self
   * time plus the libraries and Node internals it called synchronously. Callbacks that run from the event loop (socket
   * reads, timers) have no app frame above them and count as "(no app frame)".
   */
  appFunctions: (SelfTime & { where: string })[];
}

/** Where a frame's code lives: a package, Node's core, the app's folder (dist/<top>/<sub>), or V8 itself. */
function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'V8 built-ins';
  if (url.startsWith('node:')) return 'Node.js core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/([^/]+\/[^/]+)\//.exec(url);
  return own ? own[1] : url.replace(/^file:\/\//, '');
}

const shortPath = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '');

/**
 * Self time per function and per module. With `window` (monotonic µs, as `process.hrtime.bigint() / 1000n`), only
 * the samples taken inside it count, so a child's start-up and idle wait before the measured work stay out.
 */
export function summarizeProfile(profile: CpuProfile, window?: [number, number], top = 15): ProfileSummary {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (window && (at < window[0] || at > window[1])) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
    const next = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + next);
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const isApp = (url: string) => /\/dist\/(functions|local-dev)\//.test(url);
  const appFrame = (id: number): number | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (isApp(byNode.get(at)!.callFrame.url)) return at;
    }
    return undefined;
  };
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const appFunctions = new Map<string, { name: string; where: string; us: number }>();
  const add = (
    into: Map<string, { name: string; where: string; us: number }>,
    frame: { functionName: string; url: string; lineNumber: number } | undefined,
    us: number,
  ) => {
    const name = frame ? frame.functionName || '(anonymous)' : '(no app frame)';
    const where = frame?.url ? `${shortPath(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = into.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    into.set(key, entry);
  };
  const modules = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byNode.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    add(functions, { functionName, url, lineNumber }, us);
    const app = appFrame(id);
    add(appFunctions, app === undefined ? undefined : byNode.get(app)!.callFrame, us);
    const module = moduleOf(url, functionName);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  const share = (us: number) => Math.round((us / Math.max(busyUs, 1)) * 1000) / 1000;
  const ranked = (from: Map<string, { name: string; where: string; us: number }>) =>
    [...from.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: ms(f.us), share: share(f.us) }));
  return {
    windowMs: ms(Number.isFinite(first) ? last - first : 0),
    idleMs: ms(idleUs),
    busyMs: ms(busyUs),
    functions: ranked(functions),
    appFunctions: ranked(appFunctions),
    modules: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: ms(us), share: share(us) })),
  };
}

/**
 * Self time (ms) inside `window` (monotonic µs) by the part of the code `classify` puts each sampled function in;
 * idle samples are left out.
 */
export function selfTimeBy(
  profile: CpuProfile,
  window: [number, number],
  classify: (frame: CpuProfile['nodes'][number]['callFrame']) => string,
): Record<string, number> {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const parts: Record<string, number> = {};
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (at < window[0] || at > window[1]) continue;
    const frame = byNode.get(profile.samples[i])!.callFrame;
    if (frame.functionName === '(idle)') continue;
    const part = classify(frame);
    parts[part] = (parts[part] ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000;
  }
  return parts;
}

/** The monotonic clock of CPU profiles, in µs. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Runs `work` while this process is profiled (through the inspector, so no restart with --cpu-prof is needed). */
export async function profileThisProcess<T>(
  work: () => Promise<T>,
): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

/** The profile a child started with `--cpu-prof --cpu-prof-dir=<dir>` wrote on exit (the only one in `dir`). */
export function readProfileFrom(dir: string): CpuProfile {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
}
