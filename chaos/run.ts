import { cpus } from 'node:os';
import { FAULTS, runScenario, type Fault, type ScenarioOptions, type ScenarioResult } from './scenario';

/** The results table's headings (docs/reliability.md), one per field of ScenarioResult, in the order it sets them. */
const HEADINGS =
  'scenario|accepted|refused|terminal|lost|checkpointed step re-run|in-flight step re-runs|wrong status|' +
  'SSE watched|SSE missed|SSE twice|recovery (ms)|duration (s)';

export function resultsTable(results: ScenarioResult[]): string {
  const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [
    row(HEADINGS.split('|')),
    row(HEADINGS.split('|').map(() => '---')),
    ...results.map((r) => row(Object.values({ ...r, durationMs: Math.round(r.durationMs / 1000) }))),
  ].join('\n');
}

/** The breaches of the guarantees in a result (empty when it holds). */
export function breaches(r: ScenarioResult): string[] {
  return [
    r.lost ? `${r.lost} lost` : '',
    r.checkpointedReruns ? `${r.checkpointedReruns} checkpointed steps re-run` : '',
    r.wrongStatus ? `${r.wrongStatus} in the wrong status` : '',
    r.sseMissed ? `${r.sseMissed} events missed by SSE watchers` : '',
    r.sseDuplicates ? `${r.sseDuplicates} events seen twice by SSE watchers` : '',
  ].filter(Boolean);
}

/** Faults that last half a minute; an outage (a restart, a blackhole) lasts 8 s. */
const LONG_FAULTS: readonly Fault[] = ['kill-workers', 'short-leases-duplicates', 'postgres-latency'];

type RunSize = Omit<ScenarioOptions, 'fault' | 'log'>;

/** The short variant that `npm test` runs (test/chaos/chaos.test.ts): a few dozen tasks a fault. */
export const SHORT_RUN: RunSize = {
  tasks: 30,
  workers: 2,
  submitMs: 3_000,
  faultMs: 2_500,
  drainMs: 75_000,
  lockSeconds: 10,
  unsentSeconds: 5,
};

const fullRun = (fault: Fault): RunSize => ({
  tasks: 300,
  workers: 4,
  submitMs: 60_000,
  faultMs: LONG_FAULTS.includes(fault) ? 30_000 : 8_000,
  drainMs: 120_000,
});

/**
 * `npm run chaos [-- [--short] fault ...]`: every scenario (or those named) at full size (or the short variant's),
 * one after the other; each result is printed as a JSON line; exits 1 when a guarantee broke.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const short = args.includes('--short');
  const named = args.filter((a) => a !== '--short');
  const unknown = named.filter((name) => !(FAULTS as readonly string[]).includes(name));
  if (unknown.length)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  const results: ScenarioResult[] = [];
  for (const fault of FAULTS.filter((f) => named.length === 0 || named.includes(f))) {
    const result = await runScenario({
      fault,
      ...(short ? SHORT_RUN : fullRun(fault)),
      log: (line) => console.log(line),
    });
    console.log(JSON.stringify(result));
    results.push(result);
  }
  console.log(`\n${new Date().toISOString()}, ${cpus().length} cores\n`);
  console.log(resultsTable(results));
  const broken = results.flatMap((r) => breaches(r).map((b) => `${r.fault}: ${b}`));
  if (broken.length) {
    console.error(`\nguarantees broken: ${broken.join('; ')}`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
