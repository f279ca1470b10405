import { startTcpProxy, type TcpProxy } from '../chaos/tcp-proxy';

/** The dependencies a Longhaul process talks to, each behind a port of its own on the local stack. */
export const SERVICES = ['postgres', 'redis', 'blob', 'table', 'serviceBus'] as const;
export type Service = (typeof SERVICES)[number];

/** What a round trip to one service costs in Azure beyond what it costs here. */
export interface ServiceLatency {
  /** Added to every request and its answer together: half on the way there, half on the way back. */
  rttMs: number;
  /** Up to this much more per round trip: half of it at most each way, drawn uniformly per chunk of bytes. */
  jitterMs: number;
}

export type LatencyProfile = Record<Service, ServiceLatency>;

/**
 * In-region access from a Functions app to the services `infra/` deploys (Storage Standard_LRS, Service Bus
 * Standard, PostgreSQL flexible server, Redis), as round trips added to the local ones. Sources and reasoning in
 * docs/performance.md ("The Azure latency model"):
 * - Network: Microsoft states availability zones in a region are linked with a round trip under 2 ms, and a
 *   Flex Consumption instance is not pinned to its database's zone, so 2 ms is the in-region network bound used for
 *   every service. Postgres and Redis run for real here, so the network is all that is added to them.
 * - Storage and Service Bus run as emulators that answer in well under a millisecond; Microsoft publishes no latency
 *   figure for Standard storage or the Standard Service Bus tier ("variable latency"; Cosmos DB for Table is the one
 *   with an SLA: p99 under 10 ms reads, 15 ms writes). The service times added here (3–4 ms for storage, 6 ms for
 *   Service Bus, with jitter of the same order) are this project's assumption, to be replaced by figures measured
 *   on a deployment.
 */
export const AZURE_LATENCY_PROFILES: Record<string, LatencyProfile> = {
  'azure-standard': {
    postgres: { rttMs: 2, jitterMs: 0.5 },
    redis: { rttMs: 2, jitterMs: 0.5 },
    blob: { rttMs: 6, jitterMs: 3 },
    table: { rttMs: 5, jitterMs: 3 },
    serviceBus: { rttMs: 8, jitterMs: 4 },
  },
};

export const DEFAULT_LATENCY_PROFILE = 'azure-standard';

/** Each service's loopback port in the app settings of a local stack. */
function servicePorts(settings: Record<string, string>): Map<number, Service> {
  const ports = new Map<number, Service>();
  const port = (value: string | undefined, pattern: RegExp) => {
    const found = value === undefined ? undefined : pattern.exec(value)?.[1];
    if (found === undefined) throw new Error(`no loopback port matching ${pattern} in the settings`);
    return Number(found);
  };
  ports.set(port(settings.DATABASE_URL, /@127\.0\.0\.1:(\d+)/), 'postgres');
  ports.set(port(settings.REDIS_URL, /127\.0\.0\.1:(\d+)/), 'redis');
  ports.set(port(settings.TASKS_STORAGE, /BlobEndpoint=http:\/\/127\.0\.0\.1:(\d+)/), 'blob');
  ports.set(port(settings.TASKS_STORAGE, /TableEndpoint=http:\/\/127\.0\.0\.1:(\d+)/), 'table');
  ports.set(port(settings.ServiceBusConnection, /sb:\/\/127\.0\.0\.1:(\d+)/), 'serviceBus');
  return ports;
}

export interface LatencyRoute {
  /** The same settings, every dependency reached through its proxy. */
  settings: Record<string, string>;
  /** Sets each service's added latency from now on, on open connections too (absent services: none). */
  apply(latencies: Partial<LatencyProfile>): void;
  close(): Promise<void>;
}

/**
 * Puts a latency-injecting TCP proxy (chaos/tcp-proxy.ts) in front of every dependency of a local stack, starting
 * with no added latency.
 */
export async function routeThroughLatency(settings: Record<string, string>): Promise<LatencyRoute> {
  const proxies = new Map<Service, TcpProxy>();
  let routed = { ...settings };
  for (const [port, service] of servicePorts(settings)) {
    const proxy = await startTcpProxy(port);
    proxies.set(service, proxy);
    routed = Object.fromEntries(
      Object.entries(routed).map(([key, value]) => [
        key,
        value.replaceAll(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`),
      ]),
    );
  }
  return {
    settings: routed,
    apply: (latencies) => {
      for (const [service, proxy] of proxies) {
        const latency = latencies[service];
        proxy.delay((latency?.rttMs ?? 0) / 2, (latency?.jitterMs ?? 0) / 2);
      }
    },
    close: async () => {
      await Promise.all([...proxies.values()].map((p) => p.close()));
    },
  };
}
