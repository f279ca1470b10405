import { z } from 'zod';
import { defineTask, SignalTimeoutError } from '../../engine/define-task';

const decision = z
  .object({
    approve: z.boolean().describe('true publishes the report, false discards it.'),
    comment: z.string().max(1000).optional().describe('Why, for the record.'),
  })
  .strict();

const approvalInput = z
  .object({
    title: z.string().trim().min(1).max(200).describe('The report title.'),
    figures: z
      .array(z.object({ label: z.string().min(1).max(100), value: z.number().finite() }).strict())
      .min(1)
      .max(10_000)
      .describe('The lines of the report.'),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .default(86_400)
      .describe('How long to wait for a decision before discarding the report.'),
  })
  .strict();

interface Report {
  title: string;
  lines: number;
  total: number;
  mean: number;
  largest: { label: string; value: number };
}

export type ApprovalResult =
  | { decision: 'approved'; comment: string | null; published: true; report: Report }
  | { decision: 'rejected' | 'expired'; comment: string | null; published: false; report: null };

/**
 * The durable-wait reference task: builds a report, hands out a link to approve or reject it, waits for the decision
 * without holding a worker, then publishes the report (the result) or discards it.
 */
export const approvalTask = defineTask({
  type: 'approval',
  title: 'Report approval',
  description:
    'Builds a report from `figures`, then waits (holding no worker) for the `decision` signal: {"approve": true} publishes the report as the result, false discards it, and no decision within `timeoutSeconds` discards it too. The signal link is in the task\'s history.',
  input: approvalInput,
  example: {
    title: 'Q3 sales',
    figures: [
      { label: 'North', value: 1200 },
      { label: 'South', value: 950 },
    ],
    timeoutSeconds: 3600,
  },
  signals: { decision },
  // The longest decision window and a day to spare: nothing of this type stays unfinished longer.
  maxDurationSeconds: 31 * 86_400,
  async run(input, ctx): Promise<ApprovalResult> {
    const report = await ctx.step('build-report', () => buildReport(input.title, input.figures));
    const link = await ctx.step('signal-link', () => ctx.signalUrl('decision'));
    ctx.log('info', `report built (${report.lines} lines); waiting for a decision`, { signalUrl: link });
    ctx.progress({ message: 'waiting for a decision' });
    try {
      const answer = await ctx.waitForEvent('decision', {
        schema: decision,
        timeout: input.timeoutSeconds * 1000,
      });
      const comment = answer.comment ?? null;
      if (!answer.approve) return { decision: 'rejected', comment, published: false, report: null };
      return { decision: 'approved', comment, published: true, report };
    } catch (err) {
      if (err instanceof SignalTimeoutError)
        return { decision: 'expired', comment: null, published: false, report: null };
      throw err;
    }
  },
});

function buildReport(title: string, figures: Array<{ label: string; value: number }>): Report {
  const total = figures.reduce((sum, f) => sum + f.value, 0);
  const largest = figures.reduce((a, b) => (b.value > a.value ? b : a));
  return { title, lines: figures.length, total, mean: total / figures.length, largest };
}
