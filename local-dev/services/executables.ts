import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable file named `name` in PATH, or undefined. */
export function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
