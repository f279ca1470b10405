// An acknowledged Blob or Table write is durable on Azure ("The write operation returns successfully only after the
// data is written to all three replicas", https://learn.microsoft.com/azure/storage/common/storage-redundancy);
// this journal gives Azurite's LokiJS stores the same promise against a kill.
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  readdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

/*
 * A write-ahead journal for LokiJS 1.5 file-backed databases, as Azurite keeps them. Loki writes a database only as a
 * whole snapshot, every 5 s (autosave), so a killed process loses the changes since the last one. Every change to a
 * collection is appended here synchronously, before the call returns (so before Azurite answers the request), and
 * replayed over the snapshot on load. Each snapshot starts a new journal file: the ones it covers are deleted once it
 * is on disk; a change made while it is being written goes to the new file.
 *
 * Each record sets state (a document, a whole collection) rather than transforming it, so replaying records the
 * snapshot already holds (a crash between the snapshot's rename and the journal's deletion) changes nothing.
 */

interface LokiDoc {
  $loki: number;
}

interface Collection {
  name: string;
  data: LokiDoc[];
  idIndex: number[] | null;
  maxId: number;
  uniqueNames: string[];
  dirty: boolean;
  ensureId(): void;
  ensureAllIndexes(force: boolean): void;
  ensureUniqueIndex(field: string): void;
  clear(options?: { removeIndices?: boolean }): void;
}

interface Db {
  filename: string;
  persistenceAdapter: unknown;
  collections: Collection[];
  addCollection(name: string, options?: object): Collection;
  removeCollection(name: string): void;
  renameCollection(oldName: string, newName: string): Collection | null;
}

type Fn = (this: never, ...args: never[]) => unknown;

/** What this module needs of the `lokijs` export (the Loki constructor). */
export interface LokiModule {
  prototype: object;
  Collection: { prototype: object };
  LokiFsAdapter: { prototype: object };
}

export interface JournalOptions {
  /**
   * fdatasync each record before the write returns, and the snapshot before its journal is deleted: acknowledged
   * writes then survive power loss too, not only the death of the process.
   */
  fdatasync: boolean;
  log?: (line: string) => void;
}

type JournalRecord =
  | { o: 'add'; c: string; options?: object }
  | { o: 'drop'; c: string }
  | { o: 'rename'; c: string; to: string }
  | { o: 'insert' | 'update'; c: string; d: LokiDoc }
  | { o: 'remove'; c: string; ids: number[] }
  | { o: 'clear'; c: string; removeIndices: boolean };

const SUFFIX = '.journal-';

/** Set to 1 in Azurite's environment (by startAzurite) for JournalOptions.fdatasync. */
export const FDATASYNC_ENV = 'LONGHAUL_AZURITE_FDATASYNC';

type Replacer = (key: string, value: unknown) => unknown;

class Journal {
  private gen: number;
  private fd: number | undefined;
  private muted = 0;

  constructor(
    private readonly dbPath: string,
    private readonly options: JournalOptions,
    /** Loki's own: a document journalled is what the snapshot would hold (it drops keys such as `ttl`). */
    private readonly replacer: Replacer,
  ) {
    this.gen = Math.max(0, ...this.generations()) + 1;
  }

  /** The journal files present, oldest first. */
  generations(): number[] {
    const prefix = basename(this.dbPath) + SUFFIX;
    return readdirSync(dirname(this.dbPath))
      .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
      .map((name) => Number(name.slice(prefix.length)))
      .sort((a, b) => a - b);
  }

  private file(gen: number): string {
    return `${this.dbPath}${SUFFIX}${gen}`;
  }

  append(record: JournalRecord): void {
    if (this.muted) return;
    if (this.fd === undefined) {
      this.fd = openSync(this.file(this.gen), 'a');
      if (this.options.fdatasync) syncDir(dirname(this.dbPath));
    }
    writeSync(this.fd, JSON.stringify(record, this.replacer) + '\n');
    if (this.options.fdatasync) fdatasyncSync(this.fd);
  }

  /** Runs `fn` without journalling what it changes (loading, replaying). */
  mute<T>(fn: () => T): T {
    this.muted++;
    try {
      return fn();
    } finally {
      this.muted--;
    }
  }

  /** Called as a snapshot is taken: later changes go to a new file. Answers the last generation it holds. */
  rotate(): number {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return this.gen++;
  }

  /** Deletes the journal files a snapshot on disk holds. */
  discard(upTo: number): void {
    for (const gen of this.generations()) if (gen <= upTo) unlinkSync(this.file(gen));
  }

  /** Applies the journal files to a database just loaded from its snapshot. */
  replay(db: Db): void {
    const touched = new Set<Collection>();
    let count = 0;
    this.mute(() => {
      for (const gen of this.generations()) {
        const lines = readFileSync(this.file(gen), 'utf8').split('\n');
        // The part after the last newline is a record cut short by the crash (never acknowledged), or empty.
        lines.pop();
        for (const [i, line] of lines.entries()) {
          let record: JournalRecord;
          try {
            record = JSON.parse(line) as JournalRecord;
          } catch {
            // Only power loss without fdatasync can leave a bad record before the end: what follows is unusable.
            this.options.log?.(`${this.file(gen)}: record ${i + 1} unreadable; replay stops there`);
            return;
          }
          apply(db, record, touched);
          count++;
        }
      }
    });
    for (const collection of touched) {
      if (!db.collections.includes(collection)) continue;
      for (const field of collection.uniqueNames) collection.ensureUniqueIndex(field);
      collection.ensureAllIndexes(true);
      // The next snapshot then holds the replayed changes, and the files replayed are deleted.
      collection.dirty = true;
    }
    if (count) this.options.log?.(`${basename(this.dbPath)}: replayed ${count} journal records`);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Position of `id` in the sorted idIndex, or where it would go. */
function lowerBound(ids: number[], id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function apply(db: Db, record: JournalRecord, touched: Set<Collection>): void {
  const find = (name: string) => db.collections.find((c) => c.name === name);
  if (record.o === 'add') {
    if (find(record.c)) db.removeCollection(record.c);
    db.addCollection(record.c, record.options);
    return;
  }
  if (record.o === 'drop') return db.removeCollection(record.c);
  if (record.o === 'rename') {
    db.renameCollection(record.c, record.to);
    return;
  }
  const collection = find(record.c);
  if (!collection) return;
  touched.add(collection);
  if (record.o === 'clear') return collection.clear({ removeIndices: record.removeIndices });
  collection.ensureId();
  const ids = collection.idIndex as number[];
  if (record.o === 'remove') {
    for (const id of record.ids) {
      const at = lowerBound(ids, id);
      if (ids[at] !== id) continue;
      ids.splice(at, 1);
      collection.data.splice(at, 1);
    }
    return;
  }
  const doc = record.d;
  const at = lowerBound(ids, doc.$loki);
  if (ids[at] === doc.$loki) collection.data[at] = doc;
  else {
    ids.splice(at, 0, doc.$loki);
    collection.data.splice(at, 0, doc);
  }
  if (record.o === 'insert') collection.maxId = doc.$loki;
}

const JOURNAL = Symbol('journal');
type Journalled = { [JOURNAL]?: Journal };

/**
 * Patches the given `lokijs` module (it must be the instance Azurite loads) so that every file-backed database it
 * opens from then on is journalled.
 */
export function installJournal(Loki: LokiModule, options: JournalOptions): void {
  const journals = new Map<string, Journal>();
  const lokiProto = Loki.prototype as Record<string, unknown>;
  const collProto = Loki.Collection.prototype;
  const fsProto = Loki.LokiFsAdapter.prototype as Record<string, unknown>;

  const journalOf = (db: Db): Journal | undefined => {
    if (!(db.persistenceAdapter instanceof (Loki.LokiFsAdapter as unknown as new () => object)))
      return undefined;
    const path = resolve(db.filename);
    let journal = journals.get(path);
    if (!journal)
      journals.set(path, (journal = new Journal(path, options, lokiProto.serializeReplacer as Replacer)));
    return journal;
  };
  const record = (collection: Collection, entry: JournalRecord) =>
    (collection as Collection & Journalled)[JOURNAL]?.append(entry);
  // Each wrapper calls the original, then journals what it did; one that failed (threw, or answered null) did nothing.
  const wrap = (
    proto: object,
    name: string,
    make: (original: (self: unknown, args: unknown[]) => unknown) => Fn,
  ) => {
    const target = proto as Record<string, unknown>;
    const original = target[name] as (...args: unknown[]) => unknown;
    target[name] = make((self, args) => original.apply(self, args));
  };

  wrap(
    lokiProto,
    'addCollection',
    (original) =>
      function (this: Db, name: string, collOptions?: object) {
        const existed = this.collections.some((c) => c.name === name);
        const collection = original(this, [name, collOptions]) as Collection & Journalled;
        const journal = journalOf(this);
        if (journal) {
          collection[JOURNAL] = journal;
          if (!existed) journal.append({ o: 'add', c: name, options: collOptions });
        }
        return collection;
      },
  );
  wrap(
    lokiProto,
    'removeCollection',
    (original) =>
      function (this: Db, name: string) {
        const existed = this.collections.some((c) => c.name === name);
        original(this, [name]);
        if (existed) journalOf(this)?.append({ o: 'drop', c: name });
      },
  );
  wrap(
    lokiProto,
    'renameCollection',
    (original) =>
      function (this: Db, oldName: string, newName: string) {
        const collection = original(this, [oldName, newName]);
        if (collection) journalOf(this)?.append({ o: 'rename', c: oldName, to: newName });
        return collection;
      },
  );
  // Inflating a snapshot re-adds its collections: nothing new to journal.
  wrap(
    lokiProto,
    'loadJSONObject',
    (original) =>
      function (this: Db, ...args: unknown[]) {
        const journal = journalOf(this);
        return journal ? journal.mute(() => original(this, args)) : original(this, args);
      },
  );
  wrap(
    lokiProto,
    'loadDatabaseInternal',
    (original) =>
      function (this: Db, loadOptions: unknown, callback?: (err: unknown) => void) {
        original(this, [
          loadOptions,
          (err: unknown) => {
            if (!err) journalOf(this)?.replay(this);
            if (callback) callback(err);
            else if (err) throw err;
          },
        ]);
      },
  );

  // Every insert ends in insertOne, every update in update(doc), every removal in remove(doc) or
  // removeBatchByPositions (findAndUpdate, updateWhere, chain().update/remove, removeWhere, removeDataOnly included).
  wrap(
    collProto,
    'insertOne',
    (original) =>
      function (this: Collection, ...args: unknown[]) {
        const doc = original(this, args) as LokiDoc | undefined;
        if (doc) record(this, { o: 'insert', c: this.name, d: doc });
        return doc;
      },
  );
  wrap(
    collProto,
    'update',
    (original) =>
      function (this: Collection, doc: unknown) {
        const updated = original(this, [doc]) as LokiDoc;
        // An array is updated one document at a time, through this same method.
        if (!Array.isArray(doc)) record(this, { o: 'update', c: this.name, d: updated });
        return updated;
      },
  );
  wrap(
    collProto,
    'remove',
    (original) =>
      function (this: Collection, doc: unknown) {
        const id = typeof doc === 'number' ? doc : (doc as Partial<LokiDoc> | null)?.$loki;
        const removed = original(this, [doc]);
        // An array goes through removeBatchByPositions.
        if (!Array.isArray(doc) && id !== undefined && removed)
          record(this, { o: 'remove', c: this.name, ids: [id] });
        return removed;
      },
  );
  wrap(
    collProto,
    'removeBatchByPositions',
    (original) =>
      function (this: Collection, positions: number[]) {
        this.ensureId();
        const idIndex = this.idIndex as number[];
        const ids = positions.map((p) => idIndex[p]).filter((id) => id !== undefined);
        const result = original(this, [positions]);
        if (result !== null && ids.length) record(this, { o: 'remove', c: this.name, ids });
        return result;
      },
  );
  wrap(
    collProto,
    'clear',
    (original) =>
      function (this: Collection, clearOptions?: { removeIndices?: boolean }) {
        original(this, [clearOptions]);
        record(this, { o: 'clear', c: this.name, removeIndices: clearOptions?.removeIndices === true });
      },
  );

  // Replaces the fs adapter's save (writeFile to `<db>~`, then rename): the journal is rotated at the moment Loki
  // serialized the snapshot (it calls the adapter synchronously after), and trimmed once the snapshot is renamed.
  fsProto.saveDatabase = function (
    this: unknown,
    dbname: string,
    dbstring: string,
    callback: (err: Error | null) => void,
  ) {
    const journal = journals.get(resolve(dbname));
    const covered = journal?.rotate();
    const tmp = `${dbname}~`;
    (async () => {
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(dbstring);
        if (options.fdatasync) await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(tmp, dbname);
      if (options.fdatasync) syncDir(dirname(resolve(dbname)));
      if (covered !== undefined) journal?.discard(covered);
    })().then(
      () => callback(null),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  } as Fn;
}
