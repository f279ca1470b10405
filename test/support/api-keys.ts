import { keysCommand } from '../../local-dev/keys-cli';

/** Settings for AUTH_MODE=apikey in tests (test values, not secrets). */
export const APIKEY_SETTINGS = {
  AUTH_MODE: 'apikey',
  API_KEY_PEPPER: 'test-pepper-not-a-secret',
  STREAM_TOKEN_SECRET: 'test-stream-token-key',
};

/** `npm run keys` as a function, against the settings in process.env: its exit code and output lines. */
export async function keysCli(...argv: string[]): Promise<{ code: number; lines: string[]; key: string }> {
  const lines: string[] = [];
  const code = await keysCommand(argv, process.env, (line) => lines.push(line));
  // `create` prints the new key on its last line.
  return { code, lines, key: lines[lines.length - 1] };
}
