import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { findRepoRoot } from '../../../local-dev/services/repo-root';

interface Compose {
  services: Record<string, { image: string; ports?: string[]; volumes?: string[]; environment?: object }>;
}

describe('local-dev/docker-compose.yml', () => {
  it('is well-formed and declares the stack for `func start`', () => {
    const root = findRepoRoot();
    const compose = parse(readFileSync(join(root, 'local-dev/docker-compose.yml'), 'utf8')) as Compose;
    const { services } = compose;
    const ports = (name: string) => services[name].ports?.map((p) => p.replace(/^127\.0\.0\.1:/, ''));
    assert.deepEqual(ports('azurite'), ['10000:10000', '10001:10001', '10002:10002']);
    assert.match(services.servicebus.image, /^mcr\.microsoft\.com\/azure-messaging\/servicebus-emulator:/);
    assert.ok(
      services.servicebus.volumes?.includes(
        './servicebus-config.json:/ServiceBus_Emulator/ConfigFiles/Config.json',
      ),
    );
    assert.match(services.sqledge.image, /^mcr\.microsoft\.com\/azure-sql-edge:/);
    assert.deepEqual(ports('postgres'), ['5432:5432']);
    assert.deepEqual(ports('redis'), ['6379:6379']);
    assert.deepEqual(ports('jaeger'), ['4317:4317', '4318:4318', '16686:16686']);
    // The file the emulator mounts is the one our own emulator reads.
    JSON.parse(readFileSync(join(root, 'local-dev/servicebus-config.json'), 'utf8'));
  });
});
