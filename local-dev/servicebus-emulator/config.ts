import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseIsoDuration } from './iso-duration';

/** What one queue does; defaults follow Azure Service Bus (Standard tier). */
export interface QueueSettings {
  name: string;
  lockDurationMs: number;
  maxDeliveryCount: number;
  /** `Infinity` when messages never expire. */
  defaultTtlMs: number;
  requiresDuplicateDetection: boolean;
  duplicateDetectionWindowMs: number;
  deadLetteringOnMessageExpiration: boolean;
  requiresSession: boolean;
}

const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    try {
      const ms = parseIsoDuration(text);
      if (ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `${text} is outside ${min} ms..${max} ms` });
      }
      return ms;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

// Lower bounds are below Azure's (5 s locks, 20 s duplicate window) so tests of expiry can run fast.
const queueProperties = z
  .object({
    LockDuration: duration(100, 5 * 60_000).default(60_000),
    MaxDeliveryCount: z.number().int().min(1).max(2000).default(10),
    DefaultMessageTimeToLive: duration(100, Number.MAX_SAFE_INTEGER).optional(),
    RequiresDuplicateDetection: z.boolean().default(false),
    DuplicateDetectionHistoryTimeWindow: duration(100, 7 * 24 * 3_600_000).default(10 * 60_000),
    DeadLetteringOnMessageExpiration: z.boolean().default(false),
    RequiresSession: z.boolean().default(false),
    ForwardTo: z.string().max(0, 'auto-forwarding is not supported by this emulator').optional(),
    ForwardDeadLetteredMessagesTo: z
      .string()
      .max(0, 'auto-forwarding is not supported by this emulator')
      .optional(),
  })
  .loose();

const queueName = z
  .string()
  .min(1)
  .max(260)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only');

const configFile = z.object({
  UserConfig: z.object({
    Namespaces: z
      .array(
        z
          .object({
            Name: z.string().min(1),
            Queues: z
              .array(z.object({ Name: queueName, Properties: queueProperties.prefault({}) }))
              .default([]),
            Topics: z.array(z.unknown()).default([]),
          })
          .loose(),
      )
      .min(1),
    Logging: z.unknown().optional(),
  }),
});

export interface EmulatorConfig {
  queues: QueueSettings[];
  /** Config parts this emulator reads but does not serve (topics), for a start-up warning. */
  ignored: string[];
}

/** Reads the `Config.json` shape of Microsoft's Service Bus emulator (one file serves both). */
export function parseEmulatorConfig(raw: unknown): EmulatorConfig {
  const parsed = configFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Service Bus emulator config: ${issue.path.join('.')}: ${issue.message}`);
  }
  const queues: QueueSettings[] = [];
  const ignored: string[] = [];
  const seen = new Set<string>();
  for (const ns of parsed.data.UserConfig.Namespaces) {
    if (ns.Topics.length > 0) ignored.push(`${ns.Topics.length} topic(s) in namespace ${ns.Name}`);
    for (const q of ns.Queues) {
      const key = q.Name.toLowerCase();
      if (seen.has(key)) throw new Error(`Service Bus emulator config: queue "${q.Name}" is declared twice`);
      seen.add(key);
      const p = q.Properties;
      queues.push({
        name: q.Name,
        lockDurationMs: p.LockDuration,
        maxDeliveryCount: p.MaxDeliveryCount,
        defaultTtlMs: p.DefaultMessageTimeToLive ?? Infinity,
        requiresDuplicateDetection: p.RequiresDuplicateDetection,
        duplicateDetectionWindowMs: p.DuplicateDetectionHistoryTimeWindow,
        deadLetteringOnMessageExpiration: p.DeadLetteringOnMessageExpiration,
        requiresSession: p.RequiresSession,
      });
    }
  }
  return { queues, ignored };
}

export function readEmulatorConfigFile(path: string): EmulatorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`Service Bus emulator config: cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`Service Bus emulator config: ${path} is not JSON: ${(err as Error).message}`);
  }
  return parseEmulatorConfig(raw);
}
