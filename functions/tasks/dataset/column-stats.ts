import { HyperLogLog } from './hyperloglog';
import { fromJsonNumber, parseNumber, toJsonNumber, type JsonNumber } from './numbers';
import { TopValues, type TopValue, type TopValuesState } from './top-values';

/** Running moments of the numeric view (Welford), kept while every value so far was a number. */
interface Moments {
  n: number;
  mean: number;
  m2: number;
  /** Meaningless while n is 0. */
  min: number;
  max: number;
}

type MomentsState = Omit<Moments, 'mean' | 'm2'> & { mean: JsonNumber; m2: JsonNumber };

/** What a checkpoint keeps of one column: plain JSON, restored by `ColumnStats.fromJSON`. */
export interface ColumnStatsState {
  count: number;
  nulls: number;
  /** null as soon as a value is not a number: the column is text then, and its numeric view is no longer kept. */
  numeric: MomentsState | null;
  textMin: string | null;
  textMax: string | null;
  distinct: string;
  top: TopValuesState;
}

export interface ColumnResult {
  /** `number` when every non-null value is a finite number, `empty` when there is none. */
  type: 'number' | 'string' | 'empty';
  /** Non-null values. */
  count: number;
  /** Empty fields. */
  nulls: number;
  /** Numeric for a number column, else by UTF-16 code unit order. */
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  /** Sample standard deviation (n − 1), null below two values. */
  stddev: number | null;
  distinct: number;
  /** True when `distinct` is a count, false when it is the HyperLogLog estimate. */
  distinctExact: boolean;
  topValues: TopValue[];
  topValuesExact: boolean;
}

/**
 * Statistics of one column, fed value by value. Everything is sequential and restored exactly from its JSON, so a
 * run resumed from a checkpoint ends with the same numbers, to the last bit, as one uninterrupted pass.
 */
export class ColumnStats {
  private constructor(
    private count: number,
    private nulls: number,
    private numeric: Moments | null,
    private textMin: string | null,
    private textMax: string | null,
    private readonly distinct: HyperLogLog,
    private readonly top: TopValues,
  ) {}

  static empty(): ColumnStats {
    const numeric = { n: 0, mean: 0, m2: 0, min: 0, max: 0 };
    return new ColumnStats(0, 0, numeric, null, null, HyperLogLog.empty(), TopValues.empty());
  }

  static fromJSON(s: ColumnStatsState): ColumnStats {
    const numeric = s.numeric && {
      ...s.numeric,
      mean: fromJsonNumber(s.numeric.mean),
      m2: fromJsonNumber(s.numeric.m2),
    };
    return new ColumnStats(
      s.count,
      s.nulls,
      numeric,
      s.textMin,
      s.textMax,
      HyperLogLog.fromJSON(s.distinct),
      TopValues.fromJSON(s.top),
    );
  }

  add(value: string): void {
    if (value === '') {
      this.nulls++;
      return;
    }
    this.count++;
    if (this.textMin === null || value < this.textMin) this.textMin = value;
    if (this.textMax === null || value > this.textMax) this.textMax = value;
    if (this.numeric) {
      const x = parseNumber(value);
      if (x === undefined) {
        this.numeric = null;
      } else {
        const s = this.numeric;
        s.n++;
        const delta = x - s.mean;
        s.mean += delta / s.n;
        s.m2 += delta * (x - s.mean);
        if (s.n === 1 || x < s.min) s.min = x;
        if (s.n === 1 || x > s.max) s.max = x;
      }
    }
    this.distinct.add(value);
    this.top.add(value);
  }

  result(topValues: number): ColumnResult {
    const s = this.count > 0 ? this.numeric : null;
    const exact = this.top.isExact;
    return {
      type: this.count === 0 ? 'empty' : s ? 'number' : 'string',
      count: this.count,
      nulls: this.nulls,
      min: s ? s.min : this.textMin,
      max: s ? s.max : this.textMax,
      mean: s ? s.mean : null,
      stddev: s && s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : null,
      distinct: exact ? this.top.size : this.distinct.estimate(),
      distinctExact: exact,
      topValues: this.top.top(topValues),
      topValuesExact: exact,
    };
  }

  toJSON(): ColumnStatsState {
    const s = this.numeric;
    return {
      count: this.count,
      nulls: this.nulls,
      numeric: s && { ...s, mean: toJsonNumber(s.mean), m2: toJsonNumber(s.m2) },
      textMin: this.textMin,
      textMax: this.textMax,
      distinct: this.distinct.toJSON(),
      top: this.top.toJSON(),
    };
  }
}
