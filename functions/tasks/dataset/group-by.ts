import { PermanentError } from '../../engine/define-task';
import { fromJsonNumber, parseNumber, toJsonNumber, type JsonNumber } from './numbers';

export interface GroupBySpec {
  keys: string[];
  sum: string[];
  maxGroups: number;
}

/** Field positions of the key and sum columns in a record. */
export interface GroupByColumns {
  keys: number[];
  sum: number[];
}

interface Group {
  /** Key values; null for an empty field. */
  key: Array<string | null>;
  rows: number;
  /** Neumaier compensated sums, [sum, compensation] per sum column: accurate, and still strictly sequential. */
  sums: Array<[number, number]>;
}

export interface GroupByState {
  /** In the order the groups appeared. */
  groups: Array<{ key: Array<string | null>; rows: number; sums: Array<[JsonNumber, JsonNumber]> }>;
}

export interface GroupResult {
  key: Record<string, string | null>;
  rows: number;
  /** Sum of the values that are numbers; empty and non-numeric fields are left out. */
  sums: Record<string, number>;
}

/** Sums of numeric columns per distinct key, for at most `maxGroups` keys (more fails the task: the state must stay small). */
export class GroupBy {
  private constructor(
    private readonly spec: GroupBySpec,
    private readonly columns: GroupByColumns,
    private readonly groups: Map<string, Group>,
  ) {}

  static empty(spec: GroupBySpec, columns: GroupByColumns): GroupBy {
    return new GroupBy(spec, columns, new Map());
  }

  static fromJSON(spec: GroupBySpec, columns: GroupByColumns, state: GroupByState): GroupBy {
    const groups = new Map<string, Group>();
    for (const g of state.groups) {
      const sums = g.sums.map(([s, c]): [number, number] => [fromJsonNumber(s), fromJsonNumber(c)]);
      groups.set(groupId(g.key), { key: g.key, rows: g.rows, sums });
    }
    return new GroupBy(spec, columns, groups);
  }

  add(fields: string[]): void {
    const keys = this.columns.keys;
    let id = '';
    for (let k = 0; k < keys.length; k++) id += idPart(fields[keys[k]]);
    let group = this.groups.get(id);
    if (!group) {
      if (this.groups.size >= this.spec.maxGroups) {
        throw new PermanentError(
          `group-by: more than ${this.spec.maxGroups} distinct keys of ${this.spec.keys.join(', ')}; raise groupBy.maxGroups or group by fewer columns`,
          'too_many_groups',
        );
      }
      const key = keys.map((i) => (fields[i] === '' ? null : fields[i]));
      group = { key, rows: 0, sums: this.columns.sum.map((): [number, number] => [0, 0]) };
      this.groups.set(id, group);
    }
    group.rows++;
    for (let j = 0; j < this.columns.sum.length; j++) {
      const x = parseNumber(fields[this.columns.sum[j]]);
      if (x === undefined) continue;
      const acc = group.sums[j];
      const [s] = acc;
      const t = s + x;
      acc[1] += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
      acc[0] = t;
    }
  }

  /** Groups ordered by key, so the result never depends on the order rows arrived in. */
  result(): GroupResult[] {
    return [...this.groups.values()]
      .sort((a, b) => compareKeys(a.key, b.key))
      .map((g) => ({
        key: Object.fromEntries(this.spec.keys.map((name, i) => [name, g.key[i]])),
        rows: g.rows,
        sums: Object.fromEntries(this.spec.sum.map((name, j) => [name, g.sums[j][0] + g.sums[j][1]])),
      }));
  }

  toJSON(): GroupByState {
    return {
      groups: [...this.groups.values()].map((g) => ({
        key: [...g.key],
        rows: g.rows,
        sums: g.sums.map(([s, c]): [JsonNumber, JsonNumber] => [toJsonNumber(s), toJsonNumber(c)]),
      })),
    };
  }
}

/** Length-prefixed values ("-" for null): unambiguous whatever the values hold, and cheaper than JSON per row. */
const idPart = (v: string | null) => (v === null || v === '' ? '-' : `${v.length}:${v}`);

const groupId = (key: Array<string | null>) => key.map(idPart).join('');

/** Value by value, null first, then by UTF-16 code units. */
function compareKeys(a: Array<string | null>, b: Array<string | null>): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
