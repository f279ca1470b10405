import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, type LogLevel } from '../../../functions/platform/logger';

function capture(minLevel: LogLevel) {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const log = createLogger(minLevel, (level, line) =>
    lines.push({ level, entry: JSON.parse(line) as Record<string, unknown> }),
  );
  return { log, lines };
}

describe('structured logger', () => {
  it('writes one JSON object per line with time, level, message and the fields', () => {
    const { log, lines } = capture('info');
    log('warn', 'lease lost', { taskId: 't-1', slice: 2, err: new TypeError('boom') });
    assert.equal(lines.length, 1);
    const { level, entry } = lines[0];
    assert.equal(level, 'warn');
    assert.equal(entry.level, 'warn');
    assert.equal(entry.msg, 'lease lost');
    assert.equal(entry.taskId, 't-1');
    assert.equal(entry.slice, 2);
    assert.equal(entry.err, 'TypeError: boom');
    assert.ok(!Number.isNaN(Date.parse(String(entry.time))));
  });

  it('drops lines below LOG_LEVEL', () => {
    const { log, lines } = capture('warn');
    log('debug', 'a');
    log('info', 'b');
    log('warn', 'c');
    log('error', 'd');
    assert.deepEqual(
      lines.map((l) => l.entry.msg),
      ['c', 'd'],
    );
  });

  it('carries the task’s trace id outside any span, and no span id then', () => {
    const { log, lines } = capture('debug');
    log('info', 'sweeper: re-sent a queued task', { taskId: 't-2', traceId: 'a'.repeat(32) });
    assert.equal(lines[0].entry.traceId, 'a'.repeat(32));
    assert.equal(lines[0].entry.spanId, undefined);
  });

  it('redacts secrets in the message and in every field', () => {
    const { log, lines } = capture('info');
    const key = `lh_${'k'.repeat(43)}`;
    log('error', `connecting with AccountKey=c2VjcmV0; token ${key}`, {
      url: 'redis://:hunter2@cache.example.net:6380',
    });
    const line = JSON.stringify(lines[0].entry);
    for (const secret of ['c2VjcmV0', key, 'hunter2']) assert.ok(!line.includes(secret), secret);
    assert.match(line, /AccountKey=REDACTED/);
  });
});
