import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../../../local-dev/services/azurite';
import { isPortFree } from '../../../local-dev/services/ports';
import { assertProcessesGone, descendantPids, makeTempDir } from './helpers';

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

async function uploadText(connectionString: string, container: string, blob: string, text: string) {
  const containerClient =
    BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  await containerClient.createIfNotExists();
  await containerClient.getBlockBlobClient(blob).upload(text, Buffer.byteLength(text));
}

async function downloadText(connectionString: string, container: string, blob: string): Promise<string> {
  const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  return (await client.getBlobClient(blob).downloadToBuffer()).toString('utf8');
}

describe('azurite', () => {
  const temp = makeTempDir('azurite');
  after(() => temp.remove());

  it('runs in memory on free ports; blobs and table entities round-trip through the SDKs', async () => {
    const azurite = await startAzurite();
    const pids = descendantPids();
    try {
      assert.match(azurite.blobEndpoint, /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      assert.match(
        azurite.connectionString,
        /^DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=/,
      );
      const ports = [azurite.blobEndpoint, azurite.queueEndpoint, azurite.tableEndpoint].map(portOf);
      assert.equal(new Set(ports).size, 3);

      await uploadText(azurite.connectionString, 'payloads', 'task-1.json', '{"n":1}');
      assert.equal(await downloadText(azurite.connectionString, 'payloads', 'task-1.json'), '{"n":1}');

      const table = TableClient.fromConnectionString(azurite.connectionString, 'checkpoints', {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.upsertEntity({ partitionKey: 'task-1', rowKey: 'slice', cursor: 7 });
      const entity = await table.getEntity<{ cursor: number }>('task-1', 'slice');
      assert.equal(entity.cursor, 7);

      await azurite.stop();
      for (const port of ports) assert.equal(await isPortFree(port), true, `port ${port} still taken`);
      assert.ok(pids.length >= 1);
      assertProcessesGone(pids);
    } finally {
      await azurite.stop();
    }
  });

  it('keeps data under dataDir across a restart', async () => {
    const first = await startAzurite({ dataDir: temp.path });
    try {
      await uploadText(first.connectionString, 'results', 'kept.txt', 'still here');
    } finally {
      await first.stop();
    }
    const second = await startAzurite({ dataDir: temp.path });
    try {
      assert.equal(await downloadText(second.connectionString, 'results', 'kept.txt'), 'still here');
    } finally {
      await second.stop();
    }
  });
});
