import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  installHint,
  linuxFamily,
  type Platform,
  type Tool,
} from '../../../local-dev/services/install-hints';

describe('install hints', () => {
  it("tells a Linux's family from /etc/os-release", () => {
    assert.equal(linuxFamily('ID=debian\nVERSION_ID="12"\n'), 'debian');
    assert.equal(linuxFamily('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'), 'debian');
    assert.equal(linuxFamily('ID=fedora\nVERSION_ID=41\n'), 'fedora');
    assert.equal(linuxFamily('ID="rocky"\nID_LIKE="rhel centos fedora"\n'), 'fedora');
    assert.equal(linuxFamily('ID=arch\n'), 'other');
  });

  it("names each platform's install command, or the setting to use instead", () => {
    const expected: Record<Platform, Record<Tool, string>> = {
      debian: {
        postgres: 'sudo apt-get install postgresql',
        redis: 'sudo apt-get install redis-server',
        chromium: 'sudo apt-get install chromium',
        python3: 'sudo apt-get install python3',
      },
      fedora: {
        postgres: 'sudo dnf install postgresql-server',
        redis: 'sudo dnf install valkey',
        chromium: 'sudo dnf install chromium',
        python3: 'sudo dnf install python3',
      },
      macos: {
        postgres: 'brew install postgresql@17',
        redis: 'brew install redis',
        chromium: 'brew install --cask chromium',
        python3: 'brew install python',
      },
      windows: {
        postgres: 'winget install PostgreSQL.PostgreSQL.17',
        redis: 'sudo apt-get install redis-server` there',
        chromium: 'install Chrome or Edge',
        python3: 'winget install Python.Python.3.13',
      },
      other: {
        postgres: 'your package manager',
        redis: 'your package manager',
        chromium: 'your package manager',
        python3: 'your package manager',
      },
    };
    const instead: Record<Tool, RegExp> = {
      postgres: /, or set DATABASE_URL to a running server$/,
      redis: /, or set REDIS_URL to a running server$/,
      chromium: /, or set CHROMIUM_PATH to a Chromium, Chrome or Edge executable$/,
      // No setting replaces the machine's Python.
      python3: /^install it with [^,]+$/,
    };
    for (const [platform, commands] of Object.entries(expected) as Array<[Platform, Record<Tool, string>]>) {
      for (const [tool, command] of Object.entries(commands) as Array<[Tool, string]>) {
        const hint = installHint(tool, undefined, platform);
        assert.ok(hint.includes(command), `${platform} ${tool}: ${hint}`);
        assert.match(hint, instead[tool]);
      }
    }
    assert.match(
      installHint('redis', 'TEST_REDIS_URL', 'debian'),
      /, or set TEST_REDIS_URL to a running server$/,
    );
  });
});
