import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp folder, traversable by others: as root, Postgres runs as the `postgres` user and must reach it. */
export function makeTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `longhaul-${prefix}-`));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

function parentOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // it exited while we looked
  }
}

/** Every live descendant of this process (children, grandchildren, ...), from /proc. */
export function descendantPids(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(entry);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [root]; queue.length;) {
    const next = children.get(queue.shift() as number) ?? [];
    found.push(...next);
    queue = [...queue, ...next];
  }
  return found;
}

export function assertProcessesGone(pids: number[]): void {
  for (const pid of pids)
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is still alive`);
}

/**
 * A PATH for a machine with Node and nothing else: a folder holding only `node` (a link to this one), in `parent`.
 * No postgres, initdb, redis-server, nor the usual tools (id, ps).
 */
export function nodeOnlyPath(parent: string): string {
  const bin = join(parent, 'node-only-bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}
