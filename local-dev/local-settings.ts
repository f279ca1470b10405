import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `Values` of local.settings.json (what `func start` reads), or nothing when the file is absent. */
export function readLocalSettings(root: string): Record<string, string> {
  const path = join(root, 'local.settings.json');
  if (!existsSync(path)) return {};
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { Values?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(parsed.Values ?? {}).map(([k, v]) => [k, String(v)]));
}
