import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What executables' names end with on this platform. */
export const EXE = process.platform === 'win32' ? '.exe' : '';

/** The first executable file named `name` (+ EXE) in PATH, or undefined. */
export function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name + EXE);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
