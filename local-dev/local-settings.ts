import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `Values` of local.settings.json (what `func start` reads), or nothing when the file is absent. */
export function readLocalSettings(root: string): Record<string, string> {
  const path = join(root, 'local.settings.json');
  if (!existsSync(path)) return {};
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { Values?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(parsed.Values ?? {}).map(([k, v]) => [k, String(v)]));
}

/**
 * The webhook signing key `npm start` uses when none is configured: made once, kept in `.local/` (mode 0600) so
 * receivers keep verifying across restarts, and never printed.
 */
export function localWebhookSecret(stateDir: string): string {
  const path = join(stateDir, 'webhook-signing-secret');
  if (!existsSync(path)) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return readFileSync(path, 'utf8').trim();
}
