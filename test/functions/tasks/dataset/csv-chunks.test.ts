import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermanentError } from '../../../../functions/engine/define-task';
import { CsvReader, START, type CsvPosition } from '../../../../functions/tasks/dataset/csv-chunks';

interface Parsed {
  records: Array<{ fields: string[]; line: number }>;
  unreadable: Array<{ line: number; code: string }>;
  /** The reader's position after each record. */
  positions: CsvPosition[];
  end: CsvPosition;
}

/** Reads `bytes` (which begin at `start`) in chunks of `chunk` bytes. */
async function parse(
  bytes: Buffer,
  { chunk = 1 << 16, start = START, delimiter = ',' } = {},
): Promise<Parsed> {
  const parsed: Omit<Parsed, 'end'> = { records: [], unreadable: [], positions: [] };
  const reader: CsvReader = new CsvReader(
    start,
    { delimiter, maxRecordBytes: 1 << 20 },
    {
      record: (fields, line) => parsed.records.push({ fields, line }),
      unreadable: (line, code) => parsed.unreadable.push({ line, code }),
    },
  );
  try {
    for (let o = 0; o < bytes.length; o += chunk) {
      await reader.write(bytes.subarray(o, o + chunk));
      parsed.positions.push(reader.position);
    }
    return { ...parsed, end: await reader.end() };
  } finally {
    reader.close();
  }
}

/** Every position the reader reports between one-byte writes: all the record boundaries it passes. */
async function boundaries(bytes: Buffer): Promise<CsvPosition[]> {
  const { positions } = await parse(bytes, { chunk: 1 });
  return positions.filter((p, i) => i === 0 || p.offset !== positions[i - 1].offset);
}

const csv = (text: string) => Buffer.from(text, 'utf8');

const TRICKY = csv(
  '\ufeffid,name,note\r\n' +
    '1,"Smith, J.","says ""hi""\r\nover two lines"\r\n' +
    '\r\n' +
    '2,Zoë,日本語\n' +
    '3,"",\n' +
    '4,"a\nb\nc",x\n' +
    '5,last,no line break',
);

describe('CSV reader (csv-parse, resumable at record boundaries)', () => {
  it('strips the BOM, reads quoted delimiters, quotes and line breaks, CRLF and LF, and skips empty lines', async () => {
    const { records, unreadable, end } = await parse(TRICKY);
    assert.deepEqual(
      records.map((r) => r.fields),
      [
        ['id', 'name', 'note'],
        ['1', 'Smith, J.', 'says "hi"\r\nover two lines'],
        ['2', 'Zoë', '日本語'],
        ['3', '', ''],
        ['4', 'a\nb\nc', 'x'],
        ['5', 'last', 'no line break'],
      ],
    );
    assert.deepEqual(unreadable, []);
    assert.deepEqual(end, { offset: TRICKY.length, line: records.at(-1)?.line });
  });

  it('gives the same records and lines whatever the chunk size, multi-byte characters split or not', async () => {
    const whole = await parse(TRICKY);
    for (const chunk of [1, 2, 3, 5, 13]) {
      const split = await parse(TRICKY, { chunk });
      assert.deepEqual(split.records, whole.records, `chunks of ${chunk}`);
      assert.deepEqual(split.end, whole.end);
    }
  });

  it('resumes at any record boundary it reported with exactly the records that follow', async () => {
    const whole = await parse(TRICKY);
    const stops = await boundaries(TRICKY);
    assert.ok(stops.length >= 5, `${stops.length} boundaries`);
    for (const stop of stops) {
      // A boundary is just after a line break outside quotes (or at the very end).
      assert.ok(stop.offset === 0 || TRICKY[stop.offset - 1] === 0x0a || stop.offset === TRICKY.length);
      const rest = await parse(TRICKY.subarray(stop.offset), { start: stop, chunk: 4 });
      const consumed = whole.records.length - rest.records.length;
      assert.deepEqual(rest.records, whole.records.slice(consumed), `resumed at byte ${stop.offset}`);
      assert.deepEqual(rest.end, whole.end);
    }
  });

  it('keeps a BOM that is not at the start of the file as data', async () => {
    const bytes = csv('a\n\ufeffb\n');
    const { records } = await parse(bytes.subarray(2), { start: { offset: 2, line: 1 } });
    assert.deepEqual(records, [{ fields: ['\ufeffb'], line: 2 }]);
  });

  it('reports unreadable records with their line and carries on', async () => {
    const bytes = csv('a,b\n1,x"y\n2,ok\n3,"q"z\n4,ok\n5,"open to the end');
    const { records, unreadable } = await parse(bytes, { chunk: 3 });
    assert.deepEqual(
      records.map((r) => r.fields[0]),
      ['a', '2'],
      'a closing quote followed by text keeps the field open up to the next quote',
    );
    // Each problem is reported where csv-parse finds it, so the record it kept open reports two more.
    assert.deepEqual(unreadable, [
      { line: 2, code: 'INVALID_OPENING_QUOTE' },
      { line: 4, code: 'CSV_INVALID_CLOSING_QUOTE' },
      { line: 6, code: 'CSV_INVALID_CLOSING_QUOTE' },
      { line: 6, code: 'CSV_QUOTE_NOT_CLOSED' },
    ]);
  });

  it('hands records with a wrong number of fields to the sink (the aggregates count them)', async () => {
    const { records } = await parse(csv('a,b\n1\n1,2,3\n'));
    assert.deepEqual(
      records.map((r) => r.fields.length),
      [2, 1, 3],
    );
  });

  it('takes another delimiter', async () => {
    const { records } = await parse(csv('a;b\tc\n"x;y";z\n'), { delimiter: ';' });
    assert.deepEqual(
      records.map((r) => r.fields),
      [
        ['a', 'b\tc'],
        ['x;y', 'z'],
      ],
    );
  });

  it('refuses UTF-16 and records past maxRecordBytes, and reports the sink failing', async () => {
    const permanent = (code: string) => (err: unknown) => err instanceof PermanentError && err.code === code;
    await assert.rejects(parse(Buffer.from('\ufeffa,b\n', 'utf16le')), permanent('unsupported_encoding'));

    const reader = new CsvReader(
      START,
      { delimiter: ',', maxRecordBytes: 1024 },
      { record: () => undefined, unreadable: () => undefined },
    );
    await assert.rejects(reader.write(csv(`a,"${'x'.repeat(5000)}`)), permanent('record_too_large'));
    assert.equal(reader.failed, true);
    reader.close();

    const failing = new CsvReader(
      START,
      { delimiter: ',', maxRecordBytes: 1024 },
      {
        record: () => {
          throw new PermanentError('no', 'sink');
        },
        unreadable: () => undefined,
      },
    );
    await assert.rejects(
      failing.write(csv('a\nb\n')).then(() => failing.end()),
      permanent('sink'),
    );
    assert.equal(failing.failed, true);
    failing.close();
  });
});
