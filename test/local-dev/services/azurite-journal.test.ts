import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { installJournal, type LokiModule } from '../../../local-dev/azurite/loki-journal';
import { makeTempDir } from './helpers';

// The lokijs Azurite loads, journalled as the preload does it.
const Loki = createRequire(require.resolve('azurite/package.json'))('lokijs') as LokiModule &
  (new (file: string, options: object) => Db);
installJournal(Loki, { fdatasync: false });

type Doc = { $loki: number; k: string; v: number };
interface Coll {
  name: string;
  data: Doc[];
  insert(doc: object): Doc;
  update(doc: Doc): void;
  remove(doc: Doc | Doc[]): void;
  findAndRemove(query: object): void;
  findAndUpdate(query: object, fn: (doc: Doc) => void): void;
  clear(): void;
  find(query?: object): Doc[];
  findOne(query: object): Doc | null;
}
interface Db {
  collections: Coll[];
  addCollection(name: string, options?: object): Coll;
  getCollection(name: string): Coll | null;
  removeCollection(name: string): void;
  renameCollection(oldName: string, newName: string): void;
  loadDatabase(options: object, cb: (err: unknown) => void): void;
  saveDatabase(cb: (err: unknown) => void): void;
}

const open = async (file: string, load = true): Promise<Db> => {
  const db = new Loki(file, { persistenceMethod: 'fs' });
  if (load)
    await new Promise<void>((resolve, reject) => db.loadDatabase({}, (e) => (e ? reject(e) : resolve())));
  return db;
};
const save = (db: Db) =>
  new Promise<void>((resolve, reject) => db.saveDatabase((e) => (e ? reject(e) : resolve())));
/** What a database holds, as a reload would show it. */
const contents = (db: Db) =>
  JSON.stringify(
    db.collections.map((c) => [c.name, c.data]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
/** Azurite's start: load what is there, ensure its collections, take a snapshot. */
async function start(file: string, fresh: boolean): Promise<Db> {
  const db = await open(file, !fresh);
  if (!db.getCollection('a')) db.addCollection('a', { indices: ['k'], unique: ['k'] });
  await save(db);
  return db;
}

const command = fc.oneof(
  fc.record({ op: fc.constant('insert'), k: fc.string({ maxLength: 3 }), v: fc.integer() }),
  fc.record({ op: fc.constant('update'), at: fc.nat(), v: fc.integer() }),
  fc.record({ op: fc.constant('remove'), at: fc.nat() }),
  fc.record({ op: fc.constant('removeWhere'), v: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ op: fc.constant('updateWhere'), v: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ op: fc.constant('clear') }),
  fc.record({
    op: fc.constantFrom('addTable', 'dropTable', 'renameTable'),
    name: fc.constantFrom('t1', 't2'),
  }),
  fc.record({ op: fc.constant('save') }),
);
type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

async function run(db: Db, cmd: Command): Promise<void> {
  const colls = db.collections;
  const coll = colls[(('at' in cmd ? cmd.at : 0) as number) % colls.length];
  const doc = coll.data.length
    ? coll.data[(('at' in cmd ? cmd.at : 0) as number) % coll.data.length]
    : undefined;
  switch (cmd.op) {
    case 'insert':
      // Unique keys per collection: a clash throws, and a write that threw must leave no record either.
      try {
        coll.insert({ k: cmd.k, v: cmd.v });
      } catch {
        assert.ok(coll.find({ k: cmd.k }).length > 0);
      }
      return;
    case 'update':
      if (doc) coll.update({ ...doc, v: cmd.v });
      return;
    case 'remove':
      if (doc) coll.remove(doc);
      return;
    case 'removeWhere':
      return coll.findAndRemove({ v: { $lt: cmd.v } });
    case 'updateWhere':
      return coll.findAndUpdate({ v: { $gt: cmd.v } }, (d) => {
        d.v -= 1;
      });
    case 'clear':
      return colls[colls.length - 1].clear();
    case 'addTable':
      db.addCollection(cmd.name, { indices: ['v'] });
      return;
    case 'dropTable':
      return db.removeCollection(cmd.name);
    case 'renameTable':
      if (db.getCollection(cmd.name) && !db.getCollection(`${cmd.name}-renamed`))
        db.renameCollection(cmd.name, `${cmd.name}-renamed`);
      return;
    case 'save':
      return save(db);
  }
}

describe('LokiJS journal', () => {
  const temp = makeTempDir('loki-journal');
  after(() => temp.remove());

  it('a reload after a crash (no final save) shows every change made, whatever the mix of changes and snapshots', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (commands) => {
        const file = join(mkdtempSync(join(temp.path, 'p-')), 'db.json');
        const db = await start(file, true);
        for (const cmd of commands) await run(db, cmd);
        const expected = contents(db);

        const reloaded = await open(file);
        assert.equal(contents(reloaded), expected);
        // Ids continue where they were: a new document never takes an existing one's id.
        const a = reloaded.getCollection('a') as Coll;
        const before = a.data.map((d) => d.$loki);
        const added = a.insert({ k: 'new-key', v: 0 });
        assert.ok(before.every((id) => id < added.$loki));
        // Indexes were rebuilt: an indexed and a unique lookup see the replayed documents.
        for (const d of a.data) assert.equal(a.findOne({ k: d.k })?.$loki, d.$loki);
      }),
      { numRuns: 60 },
    );
  });

  it('replays a journal the snapshot already holds (crash between the snapshot and the journal deletion) harmlessly', async () => {
    const file = join(mkdtempSync(join(temp.path, 'i-')), 'db.json');
    const db = await start(file, true);
    const a = db.getCollection('a') as Coll;
    const x = a.insert({ k: 'x', v: 1 });
    a.insert({ k: 'y', v: 2 });
    a.update({ ...x, v: 3 });
    a.remove(a.findOne({ k: 'y' }) as Doc);
    db.removeCollection('t');
    db.addCollection('t').insert({ k: 'z', v: 4 });
    const journals = readdirSync(join(file, '..')).filter((n) => n.includes('.journal-'));
    for (const name of journals) copyFileSync(join(file, '..', name), join(file, '..', `${name}.kept`));
    await save(db);
    assert.deepEqual(
      readdirSync(join(file, '..')).filter((n) => /\.journal-\d+$/.test(n)),
      [],
      'the snapshot deleted the journal it holds',
    );
    for (const name of journals) copyFileSync(join(file, '..', `${name}.kept`), join(file, '..', name));

    assert.equal(contents(await open(file)), contents(db));
  });

  it('ignores a torn last record, and stops at an unreadable one', async () => {
    const file = join(mkdtempSync(join(temp.path, 't-')), 'db.json');
    const db = await start(file, true);
    const a = db.getCollection('a') as Coll;
    a.insert({ k: 'kept', v: 1 });
    const journal = readdirSync(join(file, '..')).find((n) => /\.journal-\d+$/.test(n)) as string;
    appendFileSync(join(file, '..', journal), '{"o":"insert","c":"a","d":{"k":"torn"');
    assert.deepEqual(
      (await open(file)).getCollection('a')?.data.map((d) => d.k),
      ['kept'],
    );

    appendFileSync(join(file, '..', journal), '\n{"o":"insert","c":"a","d":{"$loki":9,"k":"after","v":0}}\n');
    assert.deepEqual(
      (await open(file)).getCollection('a')?.data.map((d) => d.k),
      ['kept'],
    );
  });
});
