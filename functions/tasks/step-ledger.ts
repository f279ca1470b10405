/** Counts how often a step body really ran, in storage the checkpoint does not touch (proof of invariant 1). */
export interface StepLedger {
  recordRun(taskId: string, step: string): Promise<void>;
  runs(taskId: string): Promise<Record<string, number>>;
}
