import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { triggers } from '../../functions/app/triggers';
import { OFFLINE_SETTINGS } from '../support/offline-settings';

const entry = join(__dirname, '../../functions/index.js');

async function load(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(entry)})`], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stderr };
}

describe('functions/index.ts (the entry point the Functions host loads)', () => {
  it('registers every trigger of the table with @azure/functions', async () => {
    const { code, stderr } = await load(OFFLINE_SETTINGS);
    assert.equal(code, 0, stderr);
    // Outside the Functions host the library runs in test mode and says which registrations it skipped.
    const registered = [...stderr.matchAll(/register function "([^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(registered, triggers.map((t) => t.name).sort());
  });

  it('stops at start-up with one line naming a missing setting', async () => {
    const { DATABASE_URL: _omit, ...rest } = OFFLINE_SETTINGS;
    const { code, stderr } = await load(rest);
    assert.equal(code, 1);
    assert.equal(stderr.trim(), 'Setting DATABASE_URL: required (or PGHOST, PGUSER and PGDATABASE)');
  });
});
