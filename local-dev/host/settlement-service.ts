import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { types } from 'rhea';
import type { Reader } from 'rhea/typings/types';

/** The service definition the extension itself loads: the host and the worker speak the same proto. */
const PROTO = require.resolve('@azure/functions-extensions-servicebus/dist/proto/settlement.proto');
/** What the Functions host passes its workers (`--functions-grpc-max-message-length`). */
const GRPC_MAX_MESSAGE_LENGTH = 2_147_483_647;

/** A message whose invocation is running: the only ones settlement can reach, as on the Functions host. */
export interface HeldMessage {
  /** Settled through the service (complete, abandon, dead-letter, defer). */
  readonly settled: boolean;
  /** The invocation ended: later calls for its lock token fail as on Azure. */
  release(): void;
}

interface Entry {
  receiver: ServiceBusReceiver;
  message: ServiceBusReceivedMessage;
  settled: boolean;
}

interface LockTokenRequest {
  locktoken: string;
  propertiesToModify?: Buffer;
  deadletterReason?: { value: string } | null;
  deadletterErrorDescription?: { value: string } | null;
}

type Callback = grpc.sendUnaryData<Record<string, never>>;
type Call = grpc.ServerUnaryCall<LockTokenRequest, Record<string, never>>;

/**
 * The Functions host's `Settlement` gRPC service, which the SDK binding's actions call (WebJobs Service Bus
 * extension, `Grpc/SettlementService.cs`): it settles a message by its lock token while the invocation holds it;
 * an unknown token fails with FAILED_PRECONDITION "LockToken … not found.", a failed settlement with UNKNOWN and the
 * error. Session operations answer UNIMPLEMENTED: the local host serves no session queues.
 *
 * One per process, as the worker (the extension) reads the host's address once, from its process arguments
 * (`--host`, `--port`, `--functions-grpc-max-message-length`): the first local host to start puts them there.
 */
class SettlementService {
  private readonly held = new Map<string, Entry>();
  private server: grpc.Server | undefined;
  private port = 0;
  private users = 0;
  private starting: Promise<void> | undefined;

  /** Starts serving (or counts one more user), with the worker's process arguments pointing here. */
  async open(): Promise<void> {
    this.users++;
    this.starting ??= this.listen();
    await this.starting;
  }

  /** The last user closes the server; the next open listens on the same port, where the worker's client still points. */
  close(): void {
    if (--this.users > 0) return;
    this.server?.forceShutdown();
    this.server = undefined;
    this.starting = undefined;
  }

  hold(receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage): HeldMessage {
    const token = message.lockToken;
    if (!token) throw new Error('a peek-locked message has a lock token');
    const entry: Entry = { receiver, message, settled: false };
    this.held.set(token, entry);
    return {
      get settled() {
        return entry.settled;
      },
      release: () => {
        if (this.held.get(token) === entry) this.held.delete(token);
      },
    };
  }

  private async listen(): Promise<void> {
    const definition = protoLoader.loadSync(PROTO, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [dirname(PROTO)],
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      Settlement: { service: grpc.ServiceDefinition };
    };
    const server = new grpc.Server({
      'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_LENGTH,
      'grpc.max_send_message_length': GRPC_MAX_MESSAGE_LENGTH,
    });
    const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'sessions are not supported by the local host' });
    server.addService(loaded.Settlement.service, {
      Complete: this.settle((e) => e.receiver.completeMessage(e.message)),
      Abandon: this.settle((e, r) => e.receiver.abandonMessage(e.message, properties(r))),
      Defer: this.settle((e, r) => e.receiver.deferMessage(e.message, properties(r))),
      Deadletter: this.settle((e, r) =>
        e.receiver.deadLetterMessage(e.message, {
          ...properties(r),
          deadLetterReason: r.deadletterReason?.value as string,
          deadLetterErrorDescription: r.deadletterErrorDescription?.value as string,
        }),
      ),
      RenewMessageLock: this.call(async (e) => {
        await e.receiver.renewMessageLock(e.message);
      }),
      GetSessionState: unimplemented,
      SetSessionState: unimplemented,
      ReleaseSession: unimplemented,
      RenewSessionLock: unimplemented,
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    this.server = server;
    pointWorkerAt(this.port);
  }

  /** A settling call: the message counts as settled once Service Bus accepted it. */
  private settle(action: (entry: Entry, request: LockTokenRequest) => Promise<void>) {
    return this.call(async (entry, request) => {
      await action(entry, request);
      entry.settled = true;
    });
  }

  private call(action: (entry: Entry, request: LockTokenRequest) => Promise<void>) {
    return (call: Call, callback: Callback): void => {
      const entry = this.held.get(call.request.locktoken);
      if (!entry) {
        callback({
          code: grpc.status.FAILED_PRECONDITION,
          details: `LockToken ${call.request.locktoken} not found.`,
        });
        return;
      }
      action(entry, call.request).then(
        () => callback(null, {}),
        (error: unknown) => callback({ code: grpc.status.UNKNOWN, details: String(error) }),
      );
    };
  }
}

/** rhea's decoder; its typings declare the class but leave it off `types`, where it lives at run time. */
const AmqpReader = (types as unknown as { Reader: typeof Reader }).Reader;

/** Properties to modify: an AMQP map, empty when none. */
function properties(request: LockTokenRequest): Record<string, number | boolean | string | Date | null> {
  const bytes = request.propertiesToModify;
  if (!bytes || bytes.length === 0) return {};
  return types.unwrap(new AmqpReader(bytes).read()) as Record<
    string,
    number | boolean | string | Date | null
  >;
}

/** The arguments the Functions host starts its language worker with, as far as the extension reads them. */
function pointWorkerAt(port: number): void {
  const argv = process.argv;
  const at = argv.indexOf('--port');
  if (at >= 0) {
    argv[at + 1] = String(port);
    return;
  }
  argv.push('--host', '127.0.0.1', '--port', String(port));
  argv.push('--functions-grpc-max-message-length', String(GRPC_MAX_MESSAGE_LENGTH));
}

export const settlementService = new SettlementService();
