import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { createUpload } from '../../../../functions/app/http/handlers/create-upload';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { call } from '../../../support/http';

interface UploadBody {
  blob: string;
  uploadUrl: string;
  method: string;
  headers: Record<string, string>;
  expiresAt: string;
  maxBytes: number;
}

describe('direct-to-Blob uploads: POST /api/uploads', () => {
  let stack: AppStack;
  const ask = (body: unknown) => call(createUpload, { method: 'POST', path: '/api/uploads', body });
  const uploadedBlobs = async () => {
    const container = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE).getContainerClient(
      'uploads',
    );
    const names: string[] = [];
    if (await container.exists()) for await (const b of container.listBlobsFlat()) names.push(b.name);
    return names;
  };

  before(async () => {
    stack = await startAppStack({ MAX_UPLOAD_BYTES: '1000000' });
  });
  after(() => stack.stop());

  it('returns a write-only URL for a new blob; the file PUT there is the blob the task input names', async () => {
    const csv = 'a,b\n1,2\n3,4\n';
    const res = await ask({ filename: 'my data (v2).csv', contentType: 'text/csv', size: csv.length });
    assert.equal(res.status, 201);
    const upload = res.body as UploadBody;
    assert.match(upload.blob, /^uploads\/[0-9a-f-]{36}\/my_data__v2_\.csv$/);
    assert.equal(upload.method, 'PUT');
    assert.equal(upload.maxBytes, 1_000_000);
    const ttl = Date.parse(upload.expiresAt) - Date.now();
    assert.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000, `expires in ${ttl} ms`);

    const put = await fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: csv });
    assert.equal(put.status, 201);
    const stored = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE)
      .getContainerClient('uploads')
      .getBlockBlobClient(upload.blob.slice('uploads/'.length));
    assert.equal((await stored.downloadToBuffer()).toString(), csv);
    assert.equal((await stored.getProperties()).contentType, 'text/csv');
  });

  it('the URL can neither read the blob nor write any other blob', async () => {
    const upload = (await ask({ filename: 'x.csv', contentType: 'text/csv', size: 3 })).body as UploadBody;
    await fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: 'a\n1' });
    assert.equal((await fetch(upload.uploadUrl)).status, 403, 'read refused');
    const elsewhere = upload.uploadUrl.replace('/x.csv?', '/y.csv?');
    const put = await fetch(elsewhere, { method: 'PUT', headers: upload.headers, body: 'a\n1' });
    assert.equal(put.status, 403, 'another blob refused');
  });

  it('bad requests are 422 naming the field, and create nothing', async () => {
    const before = await uploadedBlobs();
    const cases: Array<[unknown, string]> = [
      [{ filename: 'big.csv', contentType: 'text/csv', size: 1_000_001 }, 'size'],
      [{ filename: 'empty.csv', contentType: 'text/csv', size: 0 }, 'size'],
      [{ filename: 'run.exe', contentType: 'application/x-msdownload', size: 10 }, 'contentType'],
      [{ filename: '../etc/passwd', contentType: 'text/plain', size: 10 }, 'filename'],
      [{ filename: 'a.csv', contentType: 'text/csv', size: 10, extra: true }, ''],
    ];
    for (const [body, field] of cases) {
      const res = await ask(body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal((res.body as { field: string }).field, field, JSON.stringify(body));
    }
    assert.equal(
      (
        await call(createUpload, {
          method: 'POST',
          path: '/api/uploads',
          rawBody: '{',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
      400,
    );
    assert.deepEqual(await uploadedBlobs(), before);
  });
});
