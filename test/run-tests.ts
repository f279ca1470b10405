import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm test`: every compiled test file (`*.test.js`) under dist/test, one file at a time, in path order. Node's own
 * discovery of a folder would also run each helper module under it as a test file (its patterns take any file in a
 * `test` folder): a process apiece that tests nothing.
 */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return entry.name.endsWith('.test.js') ? [path] : [];
    })
    .sort();
}

const files = testFiles(__dirname);
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(run.status ?? 1);
