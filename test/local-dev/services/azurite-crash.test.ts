import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TableClient, TableServiceClient, type TableEntityResult } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type Azurite } from '../../../local-dev/services/azurite';
import { makeTempDir } from './helpers';

type Step = { step: number; cursor: string };

const tableOf = (azurite: Azurite, name: string) =>
  TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
const containerOf = (azurite: Azurite) =>
  BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('payloads');

/** SIGKILL right after the last acknowledged response: nothing gets a chance to flush. */
async function kill(azurite: Azurite): Promise<void> {
  process.kill(azurite.pid, 'SIGKILL');
  await azurite.stop(); // resolves once it has exited
}

async function checkpoints(azurite: Azurite): Promise<Record<string, Step>> {
  const rows: Record<string, Step> = {};
  for await (const row of tableOf(azurite, 'checkpoints').listEntities<TableEntityResult<Step>>())
    rows[row.rowKey as string] = { step: row.step, cursor: row.cursor };
  return rows;
}

// Azure acknowledges a write only once it is durable (https://learn.microsoft.com/azure/storage/common/storage-redundancy:
// "The write operation returns successfully only after the data is written to all three replicas").
describe('azurite crash consistency (journalled LokiJS)', () => {
  const temp = makeTempDir('azurite-crash');
  after(() => temp.remove());

  it('keeps every acknowledged blob and table write and delete across SIGKILL, twice, and ignores a torn record', async () => {
    const first = await startAzurite({ dataDir: temp.path });
    try {
      const container = containerOf(first);
      await container.create();
      await container.getBlockBlobClient('claim-check.json').upload('{"n":1}', 7);
      await container.getBlockBlobClient('gone.json').upload('x', 1);
      const staged = container.getBlockBlobClient('staged.bin');
      await staged.stageBlock(btoa('block-1'), Buffer.from('hello '), 6);
      await staged.stageBlock(btoa('block-2'), Buffer.from('world'), 5);
      await staged.commitBlockList([btoa('block-1'), btoa('block-2')]);
      await container.getBlockBlobClient('gone.json').delete();

      const table = tableOf(first, 'checkpoints');
      await table.createTable();
      const created = await table.createEntity({
        partitionKey: 't1',
        rowKey: 'step-1',
        step: 1,
        cursor: 'a',
      });
      await table.updateEntity({ partitionKey: 't1', rowKey: 'step-1', step: 2 }, 'Merge', {
        etag: created.etag,
      });
      await table.upsertEntity({ partitionKey: 't1', rowKey: 'step-2', step: 9, cursor: 'b' }, 'Replace');
      await table.createEntity({ partitionKey: 't1', rowKey: 'doomed', step: 0, cursor: '' });
      await table.deleteEntity('t1', 'doomed');
      await table.submitTransaction([
        ['update', { partitionKey: 't1', rowKey: 'step-2', step: 10 }, 'Merge'],
        ['create', { partitionKey: 't1', rowKey: 'step-3', step: 3, cursor: 'c' }],
      ]);
      // A batch that fails is rolled back (Azurite undoes its changes one by one): none of it may come back.
      await assert.rejects(
        table.submitTransaction([
          ['update', { partitionKey: 't1', rowKey: 'step-1', step: 99 }, 'Merge'],
          ['create', { partitionKey: 't1', rowKey: 'step-3', step: 0, cursor: '' }],
        ]),
      );
      await tableOf(first, 'scratch').createTable();
      await tableOf(first, 'scratch').deleteTable();
    } finally {
      await kill(first);
    }

    const second = await startAzurite({ dataDir: temp.path });
    try {
      const container = containerOf(second);
      assert.equal(
        (await container.getBlobClient('claim-check.json').downloadToBuffer()).toString(),
        '{"n":1}',
      );
      assert.equal(
        (await container.getBlobClient('staged.bin').downloadToBuffer()).toString(),
        'hello world',
      );
      assert.equal(await container.getBlobClient('gone.json').exists(), false);
      assert.deepEqual(await checkpoints(second), {
        'step-1': { step: 2, cursor: 'a' },
        'step-2': { step: 10, cursor: 'b' },
        'step-3': { step: 3, cursor: 'c' },
      });
      const service = TableServiceClient.fromConnectionString(second.connectionString, {
        allowInsecureConnection: true,
      });
      const tables: string[] = [];
      for await (const t of service.listTables()) tables.push(t.name as string);
      assert.deepEqual(tables, ['checkpoints']);

      // Writes after a replay are journalled on top of it; new rows get fresh ids (none overwrites another).
      await tableOf(second, 'checkpoints').createEntity({
        partitionKey: 't1',
        rowKey: 'step-4',
        step: 4,
        cursor: 'd',
      });
      await container.getBlockBlobClient('claim-check.json').delete();
    } finally {
      await kill(second);
    }
    // A record cut short by the kill was never acknowledged: it is skipped, not an error.
    const generations = readdirSync(temp.path)
      .map((name) => /^__azurite_db_table__\.json\.journal-(\d+)$/.exec(name)?.[1])
      .filter((gen) => gen !== undefined)
      .map(Number);
    assert.ok(generations.length > 0, 'the table writes after the restart are in a journal');
    const last = `__azurite_db_table__.json.journal-${Math.max(...generations)}`;
    appendFileSync(join(temp.path, last), '{"o":"insert","c":"devstoreacc');

    const third = await startAzurite({ dataDir: temp.path });
    try {
      assert.deepEqual(Object.keys(await checkpoints(third)).sort(), [
        'step-1',
        'step-2',
        'step-3',
        'step-4',
      ]);
      assert.equal((await checkpoints(third))['step-4'].cursor, 'd');
      assert.equal(await containerOf(third).getBlobClient('claim-check.json').exists(), false);
      assert.equal(
        (await containerOf(third).getBlobClient('staged.bin').downloadToBuffer()).toString(),
        'hello world',
      );
    } finally {
      await third.stop();
    }
  });
});
