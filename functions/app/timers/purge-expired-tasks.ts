import type { InvocationContext, Timer } from '@azure/functions';
import { appServices } from '../app-services';

/** One run stops starting batches after this long, well inside a function timeout; the next run carries on. */
const TIME_BUDGET_MS = 5 * 60 * 1000;

/** Timer trigger: retention (docs/operations.md#retention). */
export async function purgeExpiredTasks(_timer: Timer, context: InvocationContext): Promise<void> {
  const { retention, settings } = appServices();
  const report = await retention.purge({ ...settings.retention, timeBudgetMs: TIME_BUDGET_MS });
  context.log(
    `retention: deleted ${report.tasksDeleted} finished tasks older than ${settings.retention.days} days and ` +
      `${report.orphanCheckpointsDeleted} orphaned checkpoints${report.incomplete ? '; more left for the next run' : ''}`,
  );
}
