import type { z } from 'zod';

/** A field's type as a person names it. */
const TYPE_WORDS: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

const FORMAT_WORDS: Record<string, string> = {
  url: 'a URL',
  uuid: 'a UUID',
  email: 'an e-mail address',
  datetime: 'a date and time in ISO 8601, such as 2026-12-06T10:00:00Z',
};

/** zod's own messages ("Too small: expected number to be >=1"); a schema's own message is already in words. */
const LIBRARY_MESSAGE = /^(Invalid|Too small|Too big|Unrecognized)/;

type Issue = z.core.$ZodIssue;

/**
 * An input problem in plain words, as the API, the CLI and the UI show it next to the field: "must be at least 1"
 * rather than zod's "Too small: expected number to be >=1". A message a schema wrote itself is kept.
 */
export function plainMessage(issue: Issue): string {
  if (!LIBRARY_MESSAGE.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      // zod 4 issues carry no input unless asked; a missing field is the one "received undefined".
      if (/received undefined$/.test(issue.message)) return 'is required';
      return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return sizeWords('at least', 'more than', issue.origin, Number(issue.minimum), issue.inclusive);
    case 'too_big':
      return sizeWords('at most', 'less than', issue.origin, Number(issue.maximum), issue.inclusive);
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return `must be ${FORMAT_WORDS[issue.format] ?? `a valid ${issue.format}`}`;
    case 'unrecognized_keys':
      return `${issue.keys.length === 1 ? 'is not a field' : 'are not fields'} here: ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

function sizeWords(bound: string, strict: string, origin: string, limit: number, inclusive = true): string {
  const word = inclusive ? bound : strict;
  if (origin === 'string')
    return limit === 1 && bound === 'at least'
      ? 'must not be empty'
      : `must be ${word} ${limit} characters long`;
  if (origin === 'array' || origin === 'set')
    return `must have ${word} ${limit} ${limit === 1 ? 'item' : 'items'}`;
  return `must be ${word} ${limit}`;
}
