import { z } from 'zod';

const cursorSchema = z.object({ c: z.iso.datetime(), i: z.uuid() });

/** An opaque keyset cursor: the creation time and id of the last task on a page. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify({ c: createdAt.toISOString(), i: id })).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | undefined {
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? { createdAt: new Date(parsed.data.c), id: parsed.data.i } : undefined;
  } catch {
    return undefined;
  }
}
