import type { TaskDefinition } from './define-task';

/** The task types this app runs, by type name. */
export class TaskCatalog {
  private readonly byType = new Map<string, TaskDefinition>();

  constructor(definitions: TaskDefinition[]) {
    for (const d of definitions) {
      if (this.byType.has(d.type)) throw new Error(`task type "${d.type}" is defined twice`);
      this.byType.set(d.type, d);
    }
  }

  get(type: string): TaskDefinition | undefined {
    return this.byType.get(type);
  }

  all(): TaskDefinition[] {
    return [...this.byType.values()];
  }
}
