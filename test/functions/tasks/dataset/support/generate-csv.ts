/** What the generator wrote, to check a pass against. */
export interface GeneratedCsv {
  bytes: number;
  /** Well-formed data rows. */
  rows: number;
  /** Line numbers (as csv-parse counts them) of the malformed rows, in order. */
  malformedLines: number[];
}

const REGIONS = ['north', 'south', 'east', 'west', 'central', 'île-de-france', 'tōkai', 'außen'];

/** mulberry32: a small seeded PRNG, so every run writes the same file. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A CSV of about `targetBytes` with what real files have: a UTF-8 BOM, LF and CRLF line endings, quoted fields with
 * delimiters, escaped quotes and line breaks, multi-byte characters, empty fields, and every `malformedEvery` rows a
 * malformed one (a field too few or too many, a quote inside an unquoted field); it ends with a quote left open.
 * Yields chunks of about `chunkBytes`; `stats` is complete once the generator is done.
 */
export function* generateCsv(
  targetBytes: number,
  stats: GeneratedCsv,
  { seed = 1, malformedEvery = 5_000, chunkBytes = 1 << 20 } = {},
): Generator<Buffer> {
  const rnd = random(seed);
  const pick = <T>(items: T[]) => items[Math.floor(rnd() * rnd() * items.length)];
  let line = 1;
  let parts: string[] = ['\ufeffid,region,amount,quantity,customer,note,flag\n'];
  let pending = Buffer.byteLength(parts[0]);
  stats.bytes = 0;
  stats.rows = 0;
  stats.malformedLines = [];
  const emit = (text: string) => {
    parts.push(text);
    pending += Buffer.byteLength(text);
    line += text.split('\n').length - 1;
  };
  const flush = () => {
    const chunk = Buffer.from(parts.join(''));
    stats.bytes += chunk.length;
    parts = [];
    pending = 0;
    return chunk;
  };
  for (let id = 0; stats.bytes + pending < targetBytes; id++) {
    const eol = rnd() < 0.2 ? '\r\n' : '\n';
    if (id % malformedEvery === malformedEvery - 1) {
      stats.malformedLines.push(line + 1);
      const kind = (id / malformedEvery) % 3;
      emit(
        kind === 0
          ? `${id},north,1.5,2${eol}`
          : kind === 1
            ? `${id},south,1,2,x,y,true,extra${eol}`
            : `${id},we"st,1,2,x,y,false${eol}`,
      );
      continue;
    }
    const amount = rnd() < 0.15 ? '' : (rnd() * 10_000 - 2_000).toFixed(2);
    const customer =
      rnd() < 0.05 ? '"He said ""hi"", twice"' : `"Customer ${Math.floor(rnd() * 3_000)}, Ltd"`;
    const r = rnd();
    const note = r < 0.05 ? `"first line\nsecond line ${id % 7}"` : r < 0.3 ? `café 日本 ${id % 50}` : '';
    const fields = [id, pick(REGIONS), amount, 1 + Math.floor(rnd() * 50), customer, note, rnd() < 0.5];
    emit(fields.join(',') + eol);
    stats.rows++;
    if (pending >= chunkBytes) yield flush();
  }
  stats.malformedLines.push(line + 1);
  emit('999999999,north,1,2,"a quote left open, to the end');
  yield flush();
}
