import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermanentError } from '../../../../functions/engine/define-task';
import { DatasetAggregates, type AggregateOptions } from '../../../../functions/tasks/dataset/aggregates';
import { ColumnStats } from '../../../../functions/tasks/dataset/column-stats';
import { GroupBy } from '../../../../functions/tasks/dataset/group-by';
import { HyperLogLog } from '../../../../functions/tasks/dataset/hyperloglog';
import { parseNumber } from '../../../../functions/tasks/dataset/numbers';
import { TOP_VALUE_COUNTERS, TopValues } from '../../../../functions/tasks/dataset/top-values';

/** A checkpoint goes through JSON (Table storage) before it is restored. */
const viaJson = <T>(state: T): T => JSON.parse(JSON.stringify(state)) as T;

/** Feeds `values` in one pass, and again with a checkpoint round trip every `every` values: both must end equal. */
function onePassAndResumed<S, R>(
  values: string[],
  every: number,
  empty: () => { add(v: string): void; toJSON(): S },
  restore: (s: S) => { add(v: string): void; toJSON(): S },
  result: (a: { add(v: string): void; toJSON(): S }) => R,
): [R, R, S, S] {
  const one = empty();
  for (const v of values) one.add(v);
  let resumed = empty();
  values.forEach((v, i) => {
    if (i % every === 0) resumed = restore(viaJson(resumed.toJSON()));
    resumed.add(v);
  });
  return [result(one), result(resumed), one.toJSON(), resumed.toJSON()];
}

const ints = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => String(f(i)));

describe('dataset aggregates', () => {
  it('reads decimal numbers only, and never keeps -0', () => {
    for (const [text, x] of [
      ['12', 12],
      ['-3.5', -3.5],
      ['.5', 0.5],
      ['1e6', 1e6],
      [' 7 ', 7],
      ['+2.', 2],
    ] as const) {
      assert.equal(parseNumber(text), x, text);
    }
    for (const text of ['', ' ', '0x10', 'Infinity', '1,000', '1e999', 'NaN', '1_000', '-', '.']) {
      assert.equal(parseNumber(text), undefined, text);
    }
    assert.ok(Object.is(parseNumber('-0'), 0));
  });

  it('describes a numeric column: Welford moments match a two-pass computation', () => {
    const values = ints(10_001, (i) => ((i * 7919) % 1000) / 8 - 40);
    const stats = ColumnStats.empty();
    for (const v of [...values, '', '']) stats.add(v);
    const r = stats.result(3);
    const xs = values.map(Number);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
    assert.equal(r.type, 'number');
    assert.equal(r.count, 10_001);
    assert.equal(r.nulls, 2);
    assert.equal(r.min, Math.min(...xs));
    assert.equal(r.max, Math.max(...xs));
    assert.ok(Math.abs((r.mean as number) - mean) < 1e-9);
    assert.ok(Math.abs((r.stddev as number) - sd) < 1e-9);
    assert.equal(r.distinct, 1000);
    assert.equal(r.distinctExact, true);
    assert.equal(r.topValues.length, 3);
  });

  it('turns a column into text at the first value that is not a number, and says when a column is empty', () => {
    const stats = ColumnStats.empty();
    for (const v of ['10', '9', 'n/a', '100']) stats.add(v);
    assert.deepEqual(
      { ...stats.result(10), topValues: undefined },
      {
        type: 'string',
        count: 4,
        nulls: 0,
        min: '10',
        max: 'n/a',
        mean: null,
        stddev: null,
        distinct: 4,
        distinctExact: true,
        topValues: undefined,
        topValuesExact: true,
      },
    );
    const empty = ColumnStats.empty();
    empty.add('');
    assert.equal(empty.result(10).type, 'empty');
    assert.equal(empty.result(10).nulls, 1);
    const one = ColumnStats.empty();
    one.add('5');
    assert.equal(one.result(10).stddev, null);
  });

  it('ends a resumed column exactly as one pass, whatever the checkpoint interval', () => {
    const values = ints(20_000, (i) => (i % 3 === 0 ? (i * 0.1) % 97 : (i * 7) % 5003));
    values[500] = '';
    // Past 1,000 distinct values the top-value counters start dropping: the interesting part to resume across.
    for (const every of [97, 1_000, 4_999]) {
      const [a, b, sa, sb] = onePassAndResumed(
        values,
        every,
        () => ColumnStats.empty(),
        (s) => ColumnStats.fromJSON(s),
        (c) => (c as ColumnStats).result(10),
      );
      assert.deepStrictEqual(b, a);
      assert.deepStrictEqual(sb, sa);
    }
  });

  it('keeps running moments that overflow through a checkpoint (JSON has no Infinity)', () => {
    const values = ['1e308', '-1e308', '1e308', '5'];
    const [a, b] = onePassAndResumed(
      values,
      1,
      () => ColumnStats.empty(),
      (s) => ColumnStats.fromJSON(s),
      (c) => (c as ColumnStats).result(1),
    );
    assert.deepStrictEqual(b, a);
  });

  it('estimates distinct counts within 2 % and restores its registers exactly', () => {
    const hll = HyperLogLog.empty();
    for (let i = 0; i < 200_000; i++) hll.add(`user-${i}`);
    for (let i = 0; i < 50_000; i++) hll.add(`user-${i}`);
    const estimate = hll.estimate();
    assert.ok(Math.abs(estimate - 200_000) / 200_000 < 0.02, `estimate ${estimate}`);
    const restored = HyperLogLog.fromJSON(viaJson(hll.toJSON()));
    assert.equal(restored.estimate(), estimate);
    const small = HyperLogLog.empty();
    for (let i = 0; i < 100; i++) small.add(String(i % 37));
    assert.equal(small.estimate(), 37);
    assert.ok(small.toJSON().length < 1_000, 'a sparse state deflates to a few hundred bytes');
  });

  it('counts top values exactly while they fit the counters, and bounds the error beyond', () => {
    const top = TopValues.empty();
    for (let i = 0; i < 5_000; i++) top.add(['a', 'b', 'b', 'c', 'c', 'c'][i % 6]);
    assert.deepEqual(top.top(2), [
      { value: 'c', count: 2_499 },
      { value: 'b', count: 1_667 },
    ]);
    assert.ok(top.isExact);

    // Two heavy values among many distinct ones: they keep counters, with counts at most n/(k+1) low.
    const values = ints(60_000, (i) => (i % 4 === 0 ? -1 : i % 8 === 1 ? -2 : i));
    const skewed = TopValues.empty();
    for (const v of values) skewed.add(v);
    assert.equal(skewed.isExact, false);
    const [first, second] = skewed.top(2);
    const bound = values.length / (TOP_VALUE_COUNTERS + 1);
    assert.equal(first.value, '-1');
    assert.ok(first.count <= 15_000 && first.count >= 15_000 - bound);
    assert.equal(second.value, '-2');
    assert.ok(second.count <= 7_500 && second.count >= 7_500 - bound);

    const [a, b] = onePassAndResumed(
      values,
      333,
      () => TopValues.empty(),
      (s) => TopValues.fromJSON(s),
      (t) => (t as TopValues).top(20),
    );
    assert.deepStrictEqual(b, a);
  });

  it('counts long values by their first 200 characters and stops calling the result exact', () => {
    const top = TopValues.empty();
    top.add(`${'x'.repeat(250)}1`);
    top.add(`${'x'.repeat(250)}2`);
    assert.deepEqual(top.top(5), [{ value: `${'x'.repeat(200)}…`, count: 2 }]);
    assert.equal(top.isExact, false);
  });

  it('sums numeric columns per key, null keys apart, ordered by key, and resumes exactly', () => {
    const spec = { keys: ['region', 'year'], sum: ['amount'], maxGroups: 100 };
    const columns = { keys: [0, 1], sum: [2] };
    const rows = [
      ['b', '2020', '1.5'],
      ['a', '2021', '2'],
      ['b', '2020', 'n/a'],
      ['', '2020', '4'],
      ['b', '2020', '0.1'],
      ['a', '2021', ''],
    ];
    const one = GroupBy.empty(spec, columns);
    for (const r of rows) one.add(r);
    assert.deepStrictEqual(one.result(), [
      { key: { region: null, year: '2020' }, rows: 1, sums: { amount: 4 } },
      { key: { region: 'a', year: '2021' }, rows: 2, sums: { amount: 2 } },
      { key: { region: 'b', year: '2020' }, rows: 3, sums: { amount: 1.6 } },
    ]);
    let resumed = GroupBy.empty(spec, columns);
    for (const r of rows) {
      resumed = GroupBy.fromJSON(spec, columns, viaJson(resumed.toJSON()));
      resumed.add(r);
    }
    assert.deepStrictEqual(resumed.result(), one.result());
  });

  it('sums with compensation: many small values on a large one are not lost', () => {
    const g = GroupBy.empty({ keys: ['k'], sum: ['x'], maxGroups: 1 }, { keys: [0], sum: [1] });
    g.add(['k', '1e16']);
    for (let i = 0; i < 1_000; i++) g.add(['k', '1']);
    g.add(['k', '-1e16']);
    assert.equal(g.result()[0].sums.x, 1_000);
  });

  it('fails the task when there are more groups than allowed', () => {
    const g = GroupBy.empty({ keys: ['k'], sum: [], maxGroups: 2 }, { keys: [0], sum: [] });
    g.add(['a']);
    g.add(['b']);
    g.add(['a']);
    assert.throws(
      () => g.add(['c']),
      (err: unknown) => err instanceof PermanentError && err.code === 'too_many_groups',
    );
  });

  it('names columns from the header, dedupes them, and refuses unknown ones', () => {
    const options: AggregateOptions = { header: true, topValues: 1, maxMalformedSamples: 1 };
    const agg = new DatasetAggregates(options);
    agg.record(['a', ' b ', 'a', ''], 1);
    agg.record(['1', '2', '3', '4'], 2);
    agg.record(['1', '2'], 3);
    agg.unreadable(4, 'INVALID_OPENING_QUOTE');
    const r = agg.result(10);
    assert.deepEqual(Object.keys(r.columns), ['a', 'b', 'a_2', 'column4']);
    assert.equal(r.rows, 1);
    assert.deepEqual(r.malformed, {
      count: 2,
      byCode: { wrong_field_count: 1, INVALID_OPENING_QUOTE: 1 },
      samples: [{ line: 3, code: 'wrong_field_count', message: 'expected 4 fields, got 2' }],
    });
    const named = new DatasetAggregates({ ...options, columns: ['nope'] });
    assert.throws(
      () => named.record(['a'], 1),
      (err: unknown) => err instanceof PermanentError && err.code === 'unknown_column',
    );
    const unnamed = new DatasetAggregates({ ...options, header: false });
    unnamed.record(['x', 'y'], 1);
    assert.deepEqual(Object.keys(unnamed.result(0).columns), ['column1', 'column2']);
    assert.equal(unnamed.result(0).rows, 1);
  });

  it('keeps a "__proto__" column a column', () => {
    const agg = new DatasetAggregates({ header: true, topValues: 0, maxMalformedSamples: 0 });
    agg.record(['__proto__'], 1);
    agg.record(['1'], 2);
    const r = viaJson(agg.result(0));
    assert.equal(Object.getPrototypeOf(r.columns), Object.prototype);
    assert.equal(Object.keys(r.columns)[0], '__proto__');
  });

  it('hands out a snapshot that later records do not change', () => {
    const agg = new DatasetAggregates({
      header: true,
      topValues: 5,
      maxMalformedSamples: 5,
      groupBy: { keys: ['k'], sum: ['x'], maxGroups: 10 },
    });
    agg.record(['k', 'x'], 1);
    agg.record(['a', '1'], 2);
    const snapshot = agg.toJSON();
    const frozen = JSON.stringify(snapshot);
    agg.record(['a', '2'], 3);
    agg.record(['b'], 4);
    assert.equal(JSON.stringify(snapshot), frozen);
  });
});
