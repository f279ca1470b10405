import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { triggers as appTriggers } from '../../functions/app/triggers';
import type { TriggerDefinition } from '../../functions/app/trigger-types';
import { startLocalHost, type LocalHost } from '../../local-dev/host';
import { findRepoRoot } from '../../local-dev/services/repo-root';

/** The app's triggers (or the ones given) on the local host at a free port, with the repository's host.json. */
export function startAppHost(
  settings: Record<string, string>,
  options: { triggers?: readonly TriggerDefinition[]; log?: (line: string) => void } = {},
): Promise<LocalHost> {
  return startLocalHost({
    triggers: options.triggers ?? appTriggers,
    port: 0,
    settings,
    hostJson: JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object,
    log: options.log ?? (() => undefined),
  });
}
