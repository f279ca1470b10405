/**
 * Constant strings as an SQL list for `IN (...)`: written into the statement, not bound as a parameter, so the planner
 * can match it against partial indexes declared with the same list (tasks_finished). Only for the model's constants.
 */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
}
