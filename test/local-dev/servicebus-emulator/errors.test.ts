import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { create_container, type Connection, type EventContext, type Message } from 'rhea';
import { MAX_MESSAGE_BYTES } from '../../../local-dev/servicebus-emulator';
import { receiveCount, startHarness, type Harness } from './harness';

/** A bare rhea client, for what the SDK would never send. */
async function rawConnection(port: number): Promise<Connection> {
  const container = create_container({ id: 'raw-test-client' });
  const connection = container.connect({ host: '127.0.0.1', port, reconnect: false });
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_open', () => resolve());
    connection.once('connection_error', (ctx: EventContext) => reject(ctx.connection.error));
    connection.once('disconnected', (ctx: EventContext) => reject(ctx.error ?? new Error('disconnected')));
  });
  return connection;
}

function sendRaw(connection: Connection, address: string, message: Message): Promise<EventContext> {
  return new Promise((resolve) => {
    const sender = connection.open_sender({ target: { address } });
    sender.once('sendable', () => sender.send(message));
    sender.once('accepted', resolve);
    sender.once('rejected', resolve);
  });
}

describe('Service Bus emulator: errors as Azure reports them, and resilience to bad clients', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ work: {} });
  });
  after(() => h.close());

  it('reports an unknown queue as MessagingEntityNotFound to senders and receivers', async () => {
    const isNotFound = (err: { code?: string }) => {
      assert.equal(err.code, 'MessagingEntityNotFound');
      return true;
    };
    await assert.rejects(h.client.createSender('missing').sendMessages({ body: 1 }), isNotFound);
    await assert.rejects(h.client.createReceiver('missing').receiveMessages(1), isNotFound);
  });

  it('rejects an oversized message with MessageSizeExceeded and keeps the link working', async () => {
    const sender = h.client.createSender('work');
    await assert.rejects(
      sender.sendMessages({ body: 'x'.repeat(MAX_MESSAGE_BYTES) }),
      (err: { code?: string }) => {
        assert.equal(err.code, 'MessageSizeExceeded');
        return true;
      },
    );
    await sender.sendMessages({ body: 'small' });
    const receiver = h.client.createReceiver('work', { receiveMode: 'receiveAndDelete' });
    const got = await receiveCount(receiver, 1);
    assert.deepEqual(
      got.map((m) => m.body),
      ['small'],
    );
    assert.equal(h.emulator.queue('work')?.size, 0, 'the oversized message was not stored');
    await receiver.close();
  });

  it('rejects an oversized transfer from a client that does not check sizes itself', async () => {
    const connection = await rawConnection(h.emulator.port);
    const ctx = await sendRaw(connection, 'work', { body: Buffer.alloc(MAX_MESSAGE_BYTES + 10) });
    const outcome = ctx.delivery?.remote_state as { error?: { condition?: string } } | undefined;
    assert.equal(outcome?.error?.condition, 'amqp:link:message-size-exceeded');
    const ok = await sendRaw(connection, 'work', { body: 'fine' });
    assert.equal(
      (ok.delivery?.remote_state as { constructor: { composite_type: string } }).constructor.composite_type,
      'accepted',
    );
    connection.close();
    assert.equal(h.emulator.queue('work')?.size, 1);
    const receiver = h.client.createReceiver('work', { receiveMode: 'receiveAndDelete' });
    assert.equal((await receiveCount(receiver, 1))[0].body, 'fine');
    await receiver.close();
  });

  it('answers an unknown management operation with an AMQP error status', async () => {
    const connection = await rawConnection(h.emulator.port);
    const response = await new Promise<Message>((resolve) => {
      const receiver = connection.open_receiver({
        source: { address: 'work/$management' },
        target: { address: 'me' },
      });
      receiver.once('message', (ctx: EventContext) => resolve(ctx.message as Message));
      const sender = connection.open_sender({ target: { address: 'work/$management' } });
      sender.once('sendable', () =>
        sender.send({
          message_id: 'req-1',
          reply_to: 'me',
          application_properties: { operation: 'com.microsoft:bogus' },
          body: {},
        }),
      );
    });
    assert.equal(response.correlation_id, 'req-1');
    assert.equal(response.application_properties?.['status-code'], 501);
    assert.equal(response.application_properties?.['error-condition'], 'amqp:not-implemented');
    connection.close();
  });

  it('survives garbage bytes, a bad protocol header and an abrupt disconnect', async () => {
    const payloads = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
      Buffer.concat([Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'), Buffer.alloc(64, 0xee)]),
      // A well-sized SASL frame whose body is not a valid performative.
      Buffer.concat([
        Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'),
        Buffer.from([0, 0, 0, 16, 2, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ]),
    ];
    for (const payload of payloads) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(h.emulator.port, '127.0.0.1', () => socket.write(payload));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.on('data', () => undefined);
        setTimeout(() => socket.destroy(), 300);
      });
    }
    const half = net.connect(h.emulator.port, '127.0.0.1');
    await new Promise<void>((resolve) => half.on('connect', () => resolve()));
    half.write(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'));
    half.destroy();

    const sender = h.client.createSender('work');
    await sender.sendMessages({ body: 'still up' });
    const receiver = h.client.createReceiver('work', { receiveMode: 'receiveAndDelete' });
    assert.equal((await receiveCount(receiver, 1))[0].body, 'still up');
    await receiver.close();
  });
});
