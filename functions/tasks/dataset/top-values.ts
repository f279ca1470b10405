/** Counters per column: top values and the distinct count are exact for columns with at most this many values. */
export const TOP_VALUE_COUNTERS = 1_000;
/** Longer values are counted by their first characters, so that checkpoints stay small. */
const MAX_VALUE_CHARS = 200;

export interface TopValuesState {
  /** Value and count, in the order the counters were created: restoring them keeps the algorithm deterministic. */
  counters: Array<[string, number]>;
  exact: boolean;
}

export interface TopValue {
  value: string;
  count: number;
}

/**
 * Misra–Gries frequent items: at most TOP_VALUE_COUNTERS counters; when a new value finds them all taken, every
 * counter goes down by one and those at zero are dropped. Deterministic and bounded, and exact while a column has no
 * more distinct values than counters (and none longer than MAX_VALUE_CHARS). Past that a count is a lower bound, at
 * most n/(counters+1) below the true one, and every value more frequent than that keeps its counter.
 */
export class TopValues {
  private constructor(
    private readonly counters: Map<string, number>,
    private exact: boolean,
  ) {}

  static empty(): TopValues {
    return new TopValues(new Map(), true);
  }

  static fromJSON(state: TopValuesState): TopValues {
    return new TopValues(new Map(state.counters), state.exact);
  }

  add(value: string): void {
    let key = value;
    if (value.length > MAX_VALUE_CHARS) {
      key = `${value.slice(0, MAX_VALUE_CHARS)}…`;
      this.exact = false;
    }
    const count = this.counters.get(key);
    if (count !== undefined) {
      this.counters.set(key, count + 1);
    } else if (this.counters.size < TOP_VALUE_COUNTERS) {
      this.counters.set(key, 1);
    } else {
      this.exact = false;
      // Deleting while iterating a Map is well defined; counters that stay keep their order.
      for (const [k, c] of this.counters) {
        if (c === 1) this.counters.delete(k);
        else this.counters.set(k, c - 1);
      }
    }
  }

  /** Whether the counters hold every distinct value with its true count. */
  get isExact(): boolean {
    return this.exact;
  }

  /** The number of distinct values, when exact. */
  get size(): number {
    return this.counters.size;
  }

  /** The `n` most frequent values, ties broken by value so the order never depends on arrival. */
  top(n: number): TopValue[] {
    return [...this.counters]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([value, count]) => ({ value, count }));
  }

  toJSON(): TopValuesState {
    return { counters: [...this.counters], exact: this.exact };
  }
}
