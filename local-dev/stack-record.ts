import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The services `npm start` runs itself, in the order a clean stop ends them. */
export const SERVICE_NAMES = ['servicebus', 'azurite', 'redis', 'postgres'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** One service a start left running: enough to find it again, check it is still it, and use or stop it. */
export interface ServiceRecord {
  name: ServiceName;
  pid: number;
  /** Its command line as /proc showed it once ready: a pid reused by another program shows another one. */
  commandLine: string[];
  /** The TCP ports it listens on (127.0.0.1): a hung service does not answer on them. */
  ports: number[];
  /** The setting it provides: its URL or connection string. */
  value: string;
  startedAt: string;
}

const RECORD_FILE = 'stack.json';

/** Writes `text` to `path` through a temporary file and a rename, so a reader never sees half of it. */
function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** The services recorded in `<stateDir>/stack.json`; none when it is absent or unreadable. */
export function readStackRecord(stateDir: string): ServiceRecord[] {
  try {
    const parsed = JSON.parse(readFileSync(join(stateDir, RECORD_FILE), 'utf8')) as { services?: unknown };
    return Array.isArray(parsed.services) ? (parsed.services as ServiceRecord[]) : [];
  } catch {
    return [];
  }
}

export function writeStackRecord(stateDir: string, services: ServiceRecord[]): void {
  const ordered = SERVICE_NAMES.flatMap((name) => services.filter((s) => s.name === name));
  writeFileAtomic(join(stateDir, RECORD_FILE), `${JSON.stringify({ services: ordered }, null, 2)}\n`);
}

export function removeStackRecord(stateDir: string): void {
  rmSync(join(stateDir, RECORD_FILE), { force: true });
}
