import { readFileSync } from 'node:fs';

/** What the local stack (PostgreSQL, Redis) and the tests (Chromium, Python) may need from the machine. */
export type Tool = 'postgres' | 'redis' | 'chromium' | 'python3';

/** The platforms a hint is written for; any other gets the setting to use instead. */
export type Platform = 'debian' | 'fedora' | 'macos' | 'windows' | 'other';

const COMMANDS: Record<Tool, Record<Exclude<Platform, 'other'>, string>> = {
  postgres: {
    debian: 'install it with `sudo apt-get install postgresql`',
    fedora: 'install it with `sudo dnf install postgresql-server`',
    macos: 'install it with `brew install postgresql@17`',
    windows: 'install it with `winget install PostgreSQL.PostgreSQL.17`',
  },
  redis: {
    debian: 'install it with `sudo apt-get install redis-server`',
    // Fedora 41 replaced Redis with Valkey, its drop-in fork (valkey-server is looked for too).
    fedora: 'install it with `sudo dnf install valkey`',
    macos: 'install it with `brew install redis`',
    // Redis ships no Windows build.
    windows: 'run it in WSL (`sudo apt-get install redis-server` there)',
  },
  chromium: {
    debian: 'install it with `sudo apt-get install chromium`',
    fedora: 'install it with `sudo dnf install chromium`',
    macos: 'install it with `brew install --cask chromium`',
    windows: 'install Chrome or Edge',
  },
  python3: {
    debian: 'install it with `sudo apt-get install python3`',
    fedora: 'install it with `sudo dnf install python3`',
    macos: 'install it with `brew install python`',
    windows: 'install it with `winget install Python.Python.3.13`',
  },
};

/** The setting that can replace the install, and what it names. */
const INSTEAD: Partial<Record<Tool, [string, string]>> = {
  postgres: ['DATABASE_URL', 'a running server'],
  redis: ['REDIS_URL', 'a running server'],
  chromium: ['CHROMIUM_PATH', 'a Chromium, Chrome or Edge executable'],
};

/** Which family a Linux belongs to, from /etc/os-release's ID and ID_LIKE (os-release(5)). */
export function linuxFamily(osRelease: string): Platform {
  const ids = /^(?:ID|ID_LIKE)=(.*)$/gm;
  const names = [...osRelease.matchAll(ids)].flatMap((m) => m[1].replace(/"/g, '').split(/\s+/));
  if (names.some((n) => n === 'debian' || n === 'ubuntu')) return 'debian';
  if (names.some((n) => n === 'fedora' || n === 'rhel' || n === 'centos')) return 'fedora';
  return 'other';
}

function currentPlatform(): Platform {
  if (process.platform === 'darwin') return 'macos';
  if (process.platform === 'win32') return 'windows';
  if (process.platform !== 'linux') return 'other';
  try {
    return linuxFamily(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return 'other';
  }
}

/** "install it with <the command for this platform>", then ", or set <setting> to a running server" (or what it names). */
export function installHint(tool: Tool, setting = INSTEAD[tool]?.[0], platform = currentPlatform()): string {
  const how = platform === 'other' ? 'install it with your package manager' : COMMANDS[tool][platform];
  const instead = INSTEAD[tool];
  return setting && instead ? `${how}, or set ${setting} to ${instead[1]}` : how;
}
