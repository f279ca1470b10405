import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask, PermanentError } from '../engine/define-task';
import type { StepLedger } from './step-ledger';

const simulateInput = z
  .object({
    steps: z.number().int().min(1).max(10_000).default(10).describe('How many steps to run.'),
    stepMs: z.number().int().min(0).max(600_000).default(1_000).describe('How long each step takes, in ms.'),
    failAtStep: z.number().int().min(0).optional().describe('Step (0-based) at which to fail on purpose.'),
    failMode: z
      .enum(['transient', 'permanent'])
      .default('transient')
      .describe('A transient failure is retried; a permanent one fails the task.'),
    failTimes: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(1)
      .describe('Transient failures at failAtStep before it succeeds.'),
    flakyRate: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Chance (0..1) that any step fails transiently on a given run.'),
    hangAtStep: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Step (0-based) that never finishes by itself: it waits until cancelled or the slice ends.'),
    sleepAtStep: z.number().int().min(0).optional().describe('Step (0-based) before which the task sleeps.'),
    sleepMs: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400_000)
      .optional()
      .describe('How long that sleep lasts, in ms (default 60000; past a few seconds, no worker is held).'),
    waitAtStep: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Step (0-based) before which the task waits for the signal `continue`.'),
    waitTimeoutMs: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400_000)
      .optional()
      .describe(
        'Fail with signal_timeout when no signal came within this many ms (absent: wait as long as it takes).',
      ),
    resultBytes: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(0)
      .describe('Padding added to each step result, to exercise large checkpoints.'),
  })
  .strict()
  .refine((v) => v.failAtStep === undefined || v.failAtStep < v.steps, {
    message: 'failAtStep must be below steps',
    path: ['failAtStep'],
  })
  .refine((v) => v.sleepAtStep === undefined || v.sleepAtStep < v.steps, {
    message: 'sleepAtStep must be below steps',
    path: ['sleepAtStep'],
  })
  .refine((v) => v.waitAtStep === undefined || v.waitAtStep < v.steps, {
    message: 'waitAtStep must be below steps',
    path: ['waitAtStep'],
  });

const continueSignal = z
  .object({ note: z.string().max(200).optional().describe('Carried into the result.') })
  .strict();

export interface SimulateResult {
  steps: number;
  /** The `continue` signal's note, when the task waited for one. */
  note?: string;
  executions: Record<string, number>;
  totalExecutions: number;
}

/** The reference task: sleeps per step, can fail on purpose, and reports how often each step body ran. */
export function simulateTask(ledger: StepLedger) {
  return defineTask({
    type: 'simulate',
    title: 'Simulated work',
    description:
      'Runs `steps` checkpointed steps of `stepMs` each, optionally failing at one step. The result counts how many times each step body ran, from storage outside the checkpoint.',
    input: simulateInput,
    example: { steps: 10, stepMs: 1000 },
    signals: { continue: continueSignal },
    async run(input, ctx): Promise<SimulateResult> {
      let note: string | undefined;
      for (let i = 0; i < input.steps; i++) {
        const name = `step-${i}`;
        if (i === input.sleepAtStep) await ctx.sleep(`sleep-${i}`, input.sleepMs ?? 60_000);
        if (i === input.waitAtStep) {
          const signal = await ctx.waitForEvent('continue', {
            schema: continueSignal,
            timeout: input.waitTimeoutMs,
          });
          note = signal.note;
        }
        await ctx.step(name, async () => {
          await ledger.recordRun(ctx.taskId, name);
          if (i === input.hangAtStep) await sleep(2 ** 31 - 1, undefined, { signal: ctx.signal });
          await sleep(input.stepMs, undefined, { signal: ctx.signal });
          if (input.flakyRate > 0 && Math.random() < input.flakyRate) {
            throw new Error(`simulated flaky failure at step ${i}`);
          }
          if (i === input.failAtStep) {
            if (input.failMode === 'permanent')
              throw new PermanentError(`simulated permanent failure at step ${i}`);
            const runs = (await ledger.runs(ctx.taskId))[name] ?? 0;
            if (runs <= input.failTimes) throw new Error(`simulated transient failure at step ${i}`);
          }
          return input.resultBytes > 0 ? { step: i, padding: 'x'.repeat(input.resultBytes) } : i;
        });
        ctx.progress({
          current: i + 1,
          total: input.steps,
          percent: Math.round(((i + 1) / input.steps) * 100),
          message: `step ${i + 1} of ${input.steps}`,
        });
      }
      const executions = await ledger.runs(ctx.taskId);
      return {
        steps: input.steps,
        ...(note === undefined ? {} : { note }),
        executions,
        totalExecutions: Object.values(executions).reduce((a, b) => a + b, 0),
      };
    },
  });
}
