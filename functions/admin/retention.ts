import type { AdminRepository, ExpiredTask } from '../storage/admin-repository';
import type { BlobStore } from '../storage/blob-store';
import type { CheckpointStore } from '../storage/checkpoint-store';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Storage deletions in flight at once within a batch. */
const PARALLEL_DELETES = 8;

export interface RetentionDeps {
  admin: AdminRepository;
  blobs: BlobStore;
  checkpoints: CheckpointStore;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface RetentionOptions {
  /** Finished tasks older than this many days go; 0 keeps everything. */
  days: number;
  /** Tasks deleted per batch (one transaction each). */
  batchSize: number;
  /** No new batch starts after this long: the next run carries on. */
  timeBudgetMs: number;
}

export interface RetentionReport {
  tasksDeleted: number;
  orphanCheckpointsDeleted: number;
  /** The time budget ran out before everything expired was deleted. */
  incomplete: boolean;
}

/**
 * Deletes finished tasks (succeeded, failed, cancelled) that finished more than `days` ago: their payload and result
 * blobs, their checkpoints (rows and overflow blobs), then their rows with their events and step runs, in bounded
 * batches; then checkpoints whose task row is gone. Unfinished tasks are never touched. Idempotent, and safe with
 * several instances at once: each batch locks the rows it takes, so concurrent runs share the work.
 */
export class Retention {
  constructor(private readonly deps: RetentionDeps) {}

  async purge(options: RetentionOptions, now = new Date()): Promise<RetentionReport> {
    const report: RetentionReport = { tasksDeleted: 0, orphanCheckpointsDeleted: 0, incomplete: false };
    if (options.days === 0) return report;
    const cutoff = new Date(now.getTime() - options.days * DAY_MS);
    const deadline = Date.now() + options.timeBudgetMs;
    for (;;) {
      const deleted = await this.deps.admin.deleteExpired(cutoff, options.batchSize, (tasks) =>
        this.deleteStoredData(tasks),
      );
      report.tasksDeleted += deleted;
      if (deleted < options.batchSize) break;
      if (Date.now() >= deadline) {
        report.incomplete = true;
        return report;
      }
    }
    const orphans = await this.purgeOrphanCheckpoints(cutoff, options.batchSize, deadline);
    return { ...report, orphanCheckpointsDeleted: orphans.deleted, incomplete: orphans.incomplete };
  }

  private async deleteStoredData(tasks: ExpiredTask[]): Promise<void> {
    const { blobs, checkpoints } = this.deps;
    await inParallel(tasks, async (task) => {
      await blobs.delete(task.inputRef);
      if (task.resultRef) await blobs.delete(task.resultRef);
      await checkpoints.deleteTask(task.id);
    });
  }

  /**
   * Checkpoints of tasks whose row is gone and whose lease was last written before the cutoff (a crash of an earlier
   * deletion, a row deleted by hand).
   */
  private async purgeOrphanCheckpoints(
    cutoff: Date,
    batchSize: number,
    deadline: number,
  ): Promise<{ deleted: number; incomplete: boolean }> {
    let deleted = 0;
    let page: string[] = [];
    const flush = async () => {
      const existing = await this.deps.admin.statuses(page);
      const orphans = page.filter((id) => !existing.has(id));
      await inParallel(orphans, (id) => this.deps.checkpoints.deleteTask(id));
      deleted += orphans.length;
      page = [];
    };
    for await (const taskId of this.deps.checkpoints.leasesWrittenBefore(cutoff)) {
      page.push(taskId);
      if (page.length < batchSize) continue;
      await flush();
      if (Date.now() >= deadline) return { deleted, incomplete: true };
    }
    if (page.length > 0) await flush();
    return { deleted, incomplete: false };
  }
}

/** Runs `fn` over `items`, PARALLEL_DELETES at a time; fails with the first error once all have settled. */
async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item).catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DELETES, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
