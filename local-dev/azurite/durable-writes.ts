/*
 * Preloaded into Azurite (`node --require <this file> azurite.js`) by startAzurite: journals every change to
 * Azurite's LokiJS databases before Azurite answers the request, so that an acknowledged write survives Azurite being
 * killed, as it survives anything on Azure. See loki-journal.ts and docs/local-development.md.
 */
import { createRequire } from 'node:module';
import { FDATASYNC_ENV, installJournal, type LokiModule } from './loki-journal';

// Azurite's own lokijs (resolved from its package): the patch must reach the very module instance Azurite loads.
const azuriteRequire = createRequire(require.resolve('azurite/package.json'));
installJournal(azuriteRequire('lokijs') as LokiModule, {
  fdatasync: process.env[FDATASYNC_ENV] === '1',
  log: (line) => console.log(`journal: ${line}`),
});
