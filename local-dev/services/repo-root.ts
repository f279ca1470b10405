import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'longhaul';

function walkUp(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME
    )
      return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The repository's root folder, so repo files are found wherever the build output lives. Walks up from this
 * module first, then from the working directory (for builds emitted outside the repo tree).
 */
export function findRepoRoot(): string {
  const root = walkUp(__dirname) ?? walkUp(process.cwd());
  if (!root) throw new Error(`cannot find the ${PACKAGE_NAME} repository (package.json) above ${__dirname}`);
  return root;
}
