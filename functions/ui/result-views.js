import { barChart } from './charts.js';
import { dataTable } from './components.js';
import { h } from './dom.js';

const MAX_TABLE_ROWS = 500;
/** Columns a crawl's page table shows first, when its pages have them. */
const PAGE_COLUMNS = ['url', 'status', 'title', 'words', 'links', 'elapsedMs', 'error'];
const TOP_VALUES_SHOWN = 10;
const CHARTED_COLUMNS = 8;
const GROUPS_SHOWN = 15;

const isScalar = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** A page's scalar fields, and those of its nested objects one level down (`summary.title`). */
function flatten(page) {
  const out = {};
  for (const [key, value] of Object.entries(page)) {
    if (isScalar(value)) out[key] = value;
    else if (Array.isArray(value)) out[key] = value.length;
    else if (value && typeof value === 'object') {
      for (const [inner, v] of Object.entries(value)) if (isScalar(v)) out[`${key}.${inner}`] = v;
    }
  }
  return out;
}

/** A crawl's pages (a result with a `pages` array, as `scrape` returns): status, links and timing per page. */
export function pagesView(result) {
  const pages = Array.isArray(result?.pages) ? result.pages.filter((p) => p && typeof p === 'object') : [];
  if (pages.length === 0) return undefined;
  const rows = pages.slice(0, MAX_TABLE_ROWS).map(flatten);
  const keys = [...new Set(rows.slice(0, 50).flatMap(Object.keys))];
  const rank = (key) => {
    const i = PAGE_COLUMNS.indexOf(key.split('.').pop());
    return i === -1 ? PAGE_COLUMNS.length : i;
  };
  const columns = keys.sort((a, b) => rank(a) - rank(b)).slice(0, 7);
  const link = (key, value) =>
    key === 'url' && typeof value === 'string' && /^https?:\/\//.test(value)
      ? h('a', { href: value, rel: 'noopener noreferrer' }, value)
      : value;
  const shown = pages.length > MAX_TABLE_ROWS ? `, first ${MAX_TABLE_ROWS} shown` : '';
  return dataTable(
    'Crawled pages',
    columns,
    rows.map((row) => columns.map((c) => link(c, row[c]))),
    `Pages (${pages.length}${shown})`,
  );
}

/**
 * A dataset's report: its size, a table of the columns with their statistics, bar charts of each column's most
 * frequent values and of the group sums.
 */
export function datasetView(result) {
  if (!result || typeof result.columns !== 'object' || result.columns === null) return undefined;
  const columns = Object.entries(result.columns);
  const stats = columns.map(([name, c]) => [
    name,
    c.type,
    c.count,
    c.nulls,
    c.distinctExact ? c.distinct : `≈ ${c.distinct.toLocaleString()}`,
    c.min,
    c.max,
    c.mean,
    c.stddev,
  ]);
  const charts = columns
    .filter(([, c]) => c.topValues?.length > 1)
    .slice(0, CHARTED_COLUMNS)
    .map(([name, c]) =>
      barChart(
        `Most frequent values of ${name}${c.topValuesExact ? '' : ' (approximate counts)'}`,
        c.topValues.slice(0, TOP_VALUES_SHOWN).map((t) => ({ label: t.value, value: t.count })),
      ),
    );
  const groups = Array.isArray(result.groups) ? result.groups : [];
  const summed = [...new Set(groups.flatMap((g) => Object.keys(g.sums ?? {})))];
  const keyOf = (g) =>
    Object.values(g.key)
      .map((v) => v ?? '(empty)')
      .join(' · ');
  const groupCharts = summed.map((column) =>
    barChart(
      `Sum of ${column} by ${Object.keys(groups[0].key).join(', ')}`,
      [...groups]
        .sort((a, b) => (b.sums[column] ?? 0) - (a.sums[column] ?? 0))
        .slice(0, GROUPS_SHOWN)
        .map((g) => ({ label: keyOf(g), value: g.sums[column] ?? 0 })),
    ),
  );
  const malformed = result.malformed?.count ?? 0;
  return h(
    'div',
    { class: 'dataset-result' },
    h(
      'p',
      { class: 'summary' },
      `${(result.rows ?? 0).toLocaleString()} rows, ${(result.bytes ?? 0).toLocaleString()} bytes, ${columns.length} columns`,
      malformed ? `, ${malformed.toLocaleString()} malformed lines` : '',
    ),
    dataTable(
      'Column statistics',
      ['column', 'type', 'values', 'empty', 'distinct', 'min', 'max', 'mean', 'stddev'],
      stats,
      'Columns',
    ),
    h('div', { class: 'charts' }, charts, groupCharts),
  );
}

/** The view a task type's result gets above its JSON; undefined for types shown as JSON only. */
export function resultView(type, result) {
  if (type === 'dataset') return datasetView(result);
  return pagesView(result);
}
