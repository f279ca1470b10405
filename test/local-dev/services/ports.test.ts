import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort, isPortFree } from '../../../local-dev/services/ports';

describe('ports', () => {
  it('finds a free port, and tells a taken one from a free one', async () => {
    const port = await freePort();
    assert.ok(port > 0);
    assert.equal(await isPortFree(port), true);
    const server = createServer().listen(port, '127.0.0.1');
    await once(server, 'listening');
    try {
      assert.equal(await isPortFree(port), false);
    } finally {
      server.close();
    }
  });
});
