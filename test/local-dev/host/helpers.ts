import { startLocalHost, type LocalHost, type LocalHostOptions } from '../../../local-dev/host';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects with `what` when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` is true or `ms` passed. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(20);
  }
}

export const TEST_HOST_JSON = {
  version: '2.0',
  extensions: {
    http: { routePrefix: 'api' },
    serviceBus: { maxConcurrentCalls: 2, autoCompleteMessages: true, maxAutoLockRenewalDuration: '00:05:00' },
  },
};

export interface TestHost extends LocalHost {
  logs: string[];
}

/** A host on a free port with the test host.json, collecting its log lines. */
export async function startTestHost(
  options: Partial<LocalHostOptions> & Pick<LocalHostOptions, 'triggers'>,
): Promise<TestHost> {
  const logs: string[] = [];
  const host = await startLocalHost({
    port: 0,
    settings: {},
    hostJson: TEST_HOST_JSON,
    log: (line) => logs.push(line),
    ...options,
  });
  return Object.assign(host, { logs });
}
