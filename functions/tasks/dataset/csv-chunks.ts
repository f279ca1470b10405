import { Parser, type CsvError } from 'csv-parse';
import { PermanentError } from '../../engine/define-task';

/** Where a pass stands: just after a complete record, so a new parser can start there. */
export interface CsvPosition {
  /** Byte offset in the file just after the last record (its line break included). */
  offset: number;
  /** Lines (1-based) up to and including the last line of that record; line breaks inside quotes count. */
  line: number;
}

export const START: CsvPosition = { offset: 0, line: 0 };

/** Receives records in file order, synchronously, as the parser finds them. */
export interface CsvSink {
  record(fields: string[], line: number): void;
  /** A record the parser could not read (a stray or unclosed quote); `line` is where it noticed. */
  unreadable(line: number, code: string): void;
}

export interface CsvReadOptions {
  delimiter: string;
  /** A record longer than this fails the task instead of growing without bound (a quote that never closes). */
  maxRecordBytes: number;
}

/**
 * csv-parse, with each record handed to the sink the moment it is parsed, together with the parser's live byte and
 * line counters. Going through the readable side instead would leave the counters ahead of the records in its
 * buffer, and asking csv-parse for per-record `info` objects costs about half its speed.
 */
class RecordParser extends Parser {
  offset: number;
  line: number;
  failure: unknown;
  private records = 0;

  constructor(
    private readonly start: CsvPosition,
    options: CsvReadOptions,
    private readonly sink: CsvSink,
  ) {
    super({
      delimiter: options.delimiter,
      encoding: 'utf8',
      // A BOM can only be at the start of the file; elsewhere U+FEFF is data.
      bom: start.offset === 0,
      // Fixed rather than discovered from the first line, so a parser started mid-file splits records the same way.
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: options.maxRecordBytes,
    });
    this.offset = start.offset;
    this.line = start.line;
    // Emitted synchronously from csv-parse's on_skip, in order with the records.
    this.on('skip', (err: CsvError | undefined) => this.onSkip(err));
  }

  override push(chunk: unknown): boolean {
    if (chunk === null) return super.push(null);
    if (this.failure !== undefined) return true;
    // csv-parse counts a record before pushing it; if it ever pushed later, the counters would not belong to it.
    if (this.info.records !== ++this.records) {
      this.failure = new Error('csv-parse pushed a record after parsing on; its byte offsets cannot be used');
      return true;
    }
    try {
      this.sink.record(chunk as string[], this.start.line + this.info.lines);
      this.offset = this.start.offset + this.info.bytes;
      this.line = this.start.line + this.info.lines;
    } catch (err) {
      this.failure = err;
    }
    return true;
  }

  private onSkip(err: CsvError | undefined): void {
    const code = err?.code ?? 'CSV_UNKNOWN';
    const line = this.start.line + Number(err?.lines ?? this.info.lines);
    if (code === 'CSV_MAX_RECORD_SIZE') {
      // Thrown from on_skip, it stops csv-parse (skipping would carry on in the middle of the record).
      throw new PermanentError(
        `a record near line ${line} is longer than maxRecordBytes; is a quote left open?`,
        'record_too_large',
      );
    }
    if (this.failure === undefined) this.sink.unreadable(line, code);
  }
}

/**
 * Reads CSV bytes that begin at `start` (0, or a position an earlier pass reached) chunk by chunk, handing every
 * record to the sink. Between two writes, `position` is just after the last record the sink got: a checkpoint of the
 * sink taken then, with that position, resumes exactly there.
 */
export class CsvReader {
  private readonly parser: RecordParser;
  private atStart: boolean;
  private broken = false;

  constructor(start: CsvPosition, options: CsvReadOptions, sink: CsvSink) {
    this.parser = new RecordParser(start, options, sink);
    this.atStart = start.offset === 0;
    // Errors come back through the write callbacks; the stream would also emit them.
    this.parser.on('error', () => undefined);
    this.parser.resume();
  }

  get position(): CsvPosition {
    return { offset: this.parser.offset, line: this.parser.line };
  }

  /** After a failed write the sink may hold part of a record: it must not be checkpointed. */
  get failed(): boolean {
    return this.broken;
  }

  async write(chunk: Buffer): Promise<void> {
    if (
      this.atStart &&
      ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))
    ) {
      this.broken = true;
      throw new PermanentError('the file is UTF-16; only UTF-8 CSV is supported', 'unsupported_encoding');
    }
    this.atStart = false;
    await this.settle((done) => this.parser.write(chunk, done));
  }

  /** Parses what is left (a last record without a line break) and returns the final position. */
  async end(): Promise<CsvPosition> {
    await this.settle((done) => this.parser.end(done));
    return this.position;
  }

  close(): void {
    this.parser.destroy();
  }

  private async settle(start: (done: (err?: Error | null) => void) => void): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => start((err) => (err ? reject(err) : resolve())));
      if (this.parser.failure !== undefined) throw this.parser.failure;
    } catch (err) {
      this.broken = true;
      throw err;
    }
  }
}
