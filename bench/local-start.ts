import { nodeOnlyMachine } from '../test/local-dev/services/start-script';
import { percentile } from './stats';

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

export interface LocalStartResult {
  runs: number;
  /** From launching the start script to "Longhaul is running", on an empty `.local/` (initdb included). */
  firstStartMs: number[];
  /** The same on the `.local/` a clean stop left. */
  restartMs: number[];
  /** From Ctrl+C to the start script's exit (the host, then every service, stopped in order). */
  stopMs: number[];
  medians: { firstStartMs: number; restartMs: number; stopMs: number };
}

/**
 * `npm start`'s script on a machine with only Node (embedded PostgreSQL, no Redis), `runs` times on a fresh folder:
 * the first start, a stop, a restart on the same folder, a stop. The build before it (`prestart`) is not counted.
 */
export async function benchLocalStart(runs: number): Promise<LocalStartResult> {
  const result = { runs, firstStartMs: [] as number[], restartMs: [] as number[], stopMs: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const machine = nodeOnlyMachine('bench-local-start');
    try {
      for (const times of [result.firstStartMs, result.restartMs]) {
        let began = performance.now();
        const run = machine.start();
        await run.ready(60_000);
        times.push(performance.now() - began);
        began = performance.now();
        run.interrupt();
        const code = await run.exited;
        if (code !== 0) throw new Error(`the start script exited ${code}:\n${run.output()}`);
        result.stopMs.push(performance.now() - began);
      }
    } finally {
      await machine.remove();
    }
  }
  return {
    ...result,
    medians: {
      firstStartMs: median(result.firstStartMs),
      restartMs: median(result.restartMs),
      stopMs: median(result.stopMs),
    },
  };
}
