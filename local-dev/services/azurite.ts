import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FDATASYNC_ENV } from '../azurite/loki-journal';
import { startManagedProcess } from './managed-process';

/** Azurite's well-known development account (public, the same on every machine). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 20_000;
// Compiled next to this file's folder, in whichever out dir this runs from.
const DURABLE_WRITES = join(__dirname, '..', 'azurite', 'durable-writes.js');

export interface AzuriteOptions {
  /** Keep data on disk under this folder; omitted → in memory. */
  dataDir?: string;
  /** 0 or omitted → a free port. */
  blobPort?: number;
  tablePort?: number;
  queuePort?: number;
  /**
   * With dataDir, what an acknowledged write survives (docs/local-development.md, "Crash consistency of local
   * storage"): 'process' (default) Azurite or the whole stack being killed; 'power' also power loss (an fdatasync per
   * write); 'autosave' Azurite as shipped, which loses the last few seconds of writes when killed.
   */
  durability?: 'process' | 'power' | 'autosave';
  /** Run detached, outliving this process, with its output in this file (see startManagedProcess). */
  logFile?: string;
  log?: (line: string) => void;
}

export interface Azurite {
  pid: number;
  blobEndpoint: string;
  tableEndpoint: string;
  queueEndpoint: string;
  /** Works with the blob, table and queue SDKs. */
  connectionString: string;
  stop(): Promise<void>;
}

type Service = 'Blob' | 'Queue' | 'Table';
const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/\S+)/;

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const persistence = options.dataDir ? ['--location', options.dataDir] : ['--inMemoryPersistence'];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const durability = options.dataDir ? (options.durability ?? 'process') : 'autosave';
  const ports = (service: string, port = 0) => [`--${service}Host`, HOST, `--${service}Port`, String(port)];
  const listening = new Map<Service, string>();
  const azurite = await startManagedProcess({
    name: 'azurite',
    // Node directly on the entry script: npx would leave Azurite orphaned when stopped.
    command: process.execPath,
    args: [
      ...(durability === 'autosave' ? [] : ['--require', DURABLE_WRITES]),
      require.resolve('azurite/dist/src/azurite.js'),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      '--silent',
      ...persistence,
      ...ports('blob', options.blobPort),
      ...ports('queue', options.queuePort),
      ...ports('table', options.tablePort),
    ],
    // The ports it prints are the real ones, which is how port 0 works.
    ready: (line) => {
      const match = LISTENING.exec(line);
      if (match) listening.set(match[1] as Service, `${match[2]}/${AZURITE_ACCOUNT}`);
      return listening.size === 3 ? listening : undefined;
    },
    env: { ...process.env, [FDATASYNC_ENV]: durability === 'power' ? '1' : '0' },
    readyTimeoutMs: READY_TIMEOUT_MS,
    logFile: options.logFile,
    log: options.log,
  });
  const endpoint = (service: Service) => azurite.value.get(service) as string;
  return {
    pid: azurite.pid,
    blobEndpoint: endpoint('Blob'),
    tableEndpoint: endpoint('Table'),
    queueEndpoint: endpoint('Queue'),
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${endpoint('Blob')};QueueEndpoint=${endpoint('Queue')};TableEndpoint=${endpoint('Table')};`,
    stop: azurite.stop,
  };
}
