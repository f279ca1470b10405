import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { redactContextLogs } from '../../../functions/app/redact-context-logs';

describe('redactContextLogs: what an invocation logs through the host is redacted', () => {
  it('makes context.log, warn and error redact what reaches the host', () => {
    const lines: string[] = [];
    const context = new InvocationContext({
      logHandler: (level, ...args) => lines.push(`${level} ${args.join(' ')}`),
    });
    redactContextLogs(context);
    const key = `lh_${randomBytes(32).toString('base64url')}`;
    context.log('task t1: caller key', key);
    context.warn(`retrying postgres://app:${key}@db/x`);
    context.error(new Error(`rejected ${key}`));
    assert.equal(lines.length, 3);
    for (const line of lines) assert.ok(!line.includes(key), line);
    assert.match(lines[0], /^information task t1: caller key lh_REDACTED$/);
    assert.match(lines[1], /^warning /);
    assert.match(lines[2], /^error Error: rejected lh_REDACTED/);
  });
});
