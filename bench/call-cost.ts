import { join } from 'node:path';
import { startBenchStack } from './bench-stack';
import type { CallCost, CallCostClientOptions, CallSide } from './call-cost-client';
import { runJsonChild } from './processes';

export interface CallCostResult {
  sizes: CallCostClientOptions;
  calls: CallCost[];
  /** The sums per side: the CPU a submit (api) and a no-op task (worker, host) cannot go below with these clients. */
  totals: Record<CallSide, { cpuMs: number; wallMs: number; calls: number }>;
}

export const CALL_COST_SIZES: CallCostClientOptions = { warmup: 300, calls: 1_000 };

/**
 * CPU per dependency call, made the way the app makes it (its adapters and the Azure SDK clients), in steady state:
 * the floor under the CPU of a submit and of a no-op task, against which the end-to-end figures are read.
 */
export async function benchCallCost(sizes: CallCostClientOptions = CALL_COST_SIZES): Promise<CallCostResult> {
  const stack = await startBenchStack();
  try {
    const calls = await runJsonChild<CallCost[]>(
      join(__dirname, 'call-cost-client.js'),
      [JSON.stringify(sizes)],
      600_000,
    );
    const totals = {} as CallCostResult['totals'];
    for (const side of ['api', 'worker', 'host'] as const) {
      const mine = calls.filter((c) => c.side === side && !c.outOfSums);
      totals[side] = {
        cpuMs: mine.reduce((sum, c) => sum + c.cpuMs, 0),
        wallMs: mine.reduce((sum, c) => sum + c.wallMs, 0),
        calls: mine.length,
      };
    }
    return { sizes, calls, totals };
  } finally {
    await stack.stop();
  }
}
