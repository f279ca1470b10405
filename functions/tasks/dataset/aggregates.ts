import { PermanentError } from '../../engine/define-task';
import { ColumnStats, type ColumnResult, type ColumnStatsState } from './column-stats';
import type { CsvSink } from './csv-chunks';
import { GroupBy, type GroupBySpec, type GroupByState, type GroupResult } from './group-by';

export interface AggregateOptions {
  /** The first record names the columns; otherwise they are column1, column2, … */
  header: boolean;
  /** Columns to describe; all when absent. */
  columns?: string[];
  groupBy?: GroupBySpec;
  topValues: number;
  maxMalformedSamples: number;
}

export interface MalformedSample {
  line: number;
  code: string;
  message: string;
}

export interface MalformedRows {
  count: number;
  byCode: Record<string, number>;
  samples: MalformedSample[];
}

export interface AggregatesState {
  /** Column names, once the first record was read. */
  names: string[] | null;
  rows: number;
  /** Per described column, in `names` order. */
  columns: ColumnStatsState[];
  groups: GroupByState | null;
  malformed: MalformedRows;
}

export interface DatasetResult {
  /** Well-formed data rows. */
  rows: number;
  /** Size of the file. */
  bytes: number;
  columns: Record<string, ColumnResult>;
  groups?: GroupResult[];
  malformed: MalformedRows;
}

/** Why csv-parse skipped a record, in words that do not depend on where a parser started. */
const UNREADABLE: Record<string, string> = {
  CSV_INVALID_CLOSING_QUOTE:
    'a closing quote is followed by something other than a delimiter or a line break',
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is still open at the end of the file',
};

/**
 * Everything a dataset pass computes, fed record by record by the CSV reader: the header, per-column statistics,
 * group-by sums and malformed rows. Its state is plain JSON, and a pass resumed from it at the position it was taken
 * ends exactly as one uninterrupted pass does.
 */
export class DatasetAggregates implements CsvSink {
  private names: string[] | null = null;
  private described: number[] = [];
  private stats: ColumnStats[] = [];
  private groups: GroupBy | null = null;
  private rows = 0;
  private malformed: MalformedRows = { count: 0, byCode: {}, samples: [] };

  constructor(private readonly options: AggregateOptions) {}

  static fromJSON(options: AggregateOptions, state: AggregatesState): DatasetAggregates {
    const aggregates = new DatasetAggregates(options);
    if (state.names) aggregates.setNames(state.names, state);
    aggregates.rows = state.rows;
    aggregates.malformed = {
      count: state.malformed.count,
      byCode: { ...state.malformed.byCode },
      samples: state.malformed.samples.map((s) => ({ ...s })),
    };
    return aggregates;
  }

  record(fields: string[], line: number): void {
    let names = this.names;
    if (!names) {
      const named = this.options.header;
      names = this.setNames(
        fields.map((f, i) => (named && f.trim() !== '' ? f.trim() : `column${i + 1}`)),
        undefined,
      );
      if (named) return;
    }
    if (fields.length !== names.length) {
      this.addMalformed(line, 'wrong_field_count', `expected ${names.length} fields, got ${fields.length}`);
      return;
    }
    this.rows++;
    for (let j = 0; j < this.described.length; j++) this.stats[j].add(fields[this.described[j]]);
    this.groups?.add(fields);
  }

  unreadable(line: number, code: string): void {
    this.addMalformed(line, code, UNREADABLE[code] ?? `csv-parse: ${code}`);
  }

  result(bytes: number): DatasetResult {
    const names = this.names ?? [];
    // fromEntries, not assignment: a column named "__proto__" must stay a column.
    const columns = Object.fromEntries(
      this.described.map((i, j) => [names[i], this.stats[j].result(this.options.topValues)]),
    );
    return {
      rows: this.rows,
      bytes,
      columns,
      ...(this.options.groupBy ? { groups: this.groups?.result() ?? [] } : {}),
      malformed: {
        count: this.malformed.count,
        byCode: { ...this.malformed.byCode },
        samples: this.malformed.samples.map((s) => ({ ...s })),
      },
    };
  }

  /** A copy that later records do not change: the engine may store it after the pass has moved on. */
  toJSON(): AggregatesState {
    return {
      names: this.names && [...this.names],
      rows: this.rows,
      columns: this.stats.map((s) => s.toJSON()),
      groups: this.groups?.toJSON() ?? null,
      malformed: {
        count: this.malformed.count,
        byCode: { ...this.malformed.byCode },
        samples: this.malformed.samples.map((s) => ({ ...s })),
      },
    };
  }

  private setNames(names: string[], state: AggregatesState | undefined): string[] {
    const unique = dedupe(names);
    const index = (name: string, what: string) => {
      const i = unique.indexOf(name);
      if (i < 0) {
        throw new PermanentError(
          `${what}: no column "${name}" (columns: ${unique.join(', ')})`,
          'unknown_column',
        );
      }
      return i;
    };
    this.described = this.options.columns
      ? this.options.columns.map((c) => index(c, 'columns'))
      : unique.map((_, i) => i);
    this.stats = state
      ? state.columns.map((s) => ColumnStats.fromJSON(s))
      : this.described.map(() => ColumnStats.empty());
    const spec = this.options.groupBy;
    if (spec) {
      const columns = {
        keys: spec.keys.map((k) => index(k, 'groupBy.keys')),
        sum: spec.sum.map((s) => index(s, 'groupBy.sum')),
      };
      this.groups = state?.groups
        ? GroupBy.fromJSON(spec, columns, state.groups)
        : GroupBy.empty(spec, columns);
    }
    this.names = unique;
    return unique;
  }

  private addMalformed(line: number, code: string, message: string): void {
    const m = this.malformed;
    m.count++;
    m.byCode[code] = (m.byCode[code] ?? 0) + 1;
    if (m.samples.length < this.options.maxMalformedSamples) m.samples.push({ line, code, message });
  }
}

/** Repeated header names get a suffix (`name_2`, `name_3`, …) so every column has its own key. */
function dedupe(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let n = 2; seen.has(unique); n++) unique = `${name}_${n}`;
    seen.add(unique);
    return unique;
  });
}
