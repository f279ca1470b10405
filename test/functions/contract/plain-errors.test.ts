import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { plainMessage } from '../../../functions/contract/plain-errors';

const schema = z
  .object({
    steps: z.number().int().min(1).max(10_000),
    ratio: z.number().gt(0).lt(1),
    mode: z.enum(['transient', 'permanent']),
    name: z.string().min(1),
    code: z.string().min(3).max(5),
    hosts: z.array(z.string()).min(1).max(2),
    url: z.url(),
    at: z.iso.datetime(),
    id: z.uuid({ message: 'must be a UUID' }),
    flag: z.boolean(),
  })
  .strict();

/** The plain message of each field of `input`'s first problem there. */
function messages(input: unknown): Record<string, string> {
  const result = schema.safeParse(input);
  assert.ok(!result.success);
  return Object.fromEntries(result.error.issues.map((i) => [i.path.join('.') || '(body)', plainMessage(i)]));
}

describe('input problems in plain words', () => {
  it('says what a value must be, for each kind of problem zod reports', () => {
    assert.deepEqual(
      messages({
        steps: 0,
        ratio: 1,
        mode: 'sometimes',
        name: '',
        code: 'toolong',
        hosts: ['a', 'b', 'c'],
        url: 'not a url',
        at: 'yesterday',
        id: 'x',
        flag: 'yes',
        extra: 1,
      }),
      {
        steps: 'must be at least 1',
        ratio: 'must be less than 1',
        mode: 'must be one of: transient, permanent',
        name: 'must not be empty',
        code: 'must be at most 5 characters long',
        hosts: 'must have at most 2 items',
        url: 'must be a URL',
        at: 'must be a date and time in ISO 8601, such as 2026-12-06T10:00:00Z',
        id: 'must be a UUID',
        flag: 'must be true or false',
        '(body)': 'is not a field here: extra',
      },
    );
  });

  it('tells a missing field from a wrong type, and keeps a message the schema wrote itself', () => {
    const missing = messages({});
    assert.equal(missing.steps, 'is required');
    assert.equal(missing.hosts, 'is required');
    const wrong = messages({ steps: 1.5, hosts: 'a', code: 'ab' });
    assert.equal(wrong.steps, 'must be a whole number');
    assert.equal(wrong.hosts, 'must be a list');
    assert.equal(wrong.code, 'must be at least 3 characters long');
    assert.equal(messages({ id: 'x' }).id, 'must be a UUID');
  });
});
