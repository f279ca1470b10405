import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = join(__dirname, '../../..');
const RULE = 'import-x/no-restricted-paths';
/** The repository's ESLint configuration, running its layering rule only. */
const layeringLint = () => new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => ruleId === RULE });

/**
 * One import, linted as if it were the first line of a file at `at` (a path from the repository root that need not
 * exist): the layering rules work on the resolved path of what it imports, so the imported file must exist.
 */
async function layeringErrors(at: string, importLine: string): Promise<string[]> {
  const [result] = await layeringLint().lintText(`${importLine}\nexport const used = imported;\n`, {
    filePath: join(root, at),
  });
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

/** [file, an import it must not have, an import it may have] for each rule of docs/architecture.md. */
const RULES: Array<[string, string, string, string]> = [
  [
    'the engine does not call the composition root',
    'functions/engine/x.ts',
    "import { appServices as imported } from '../app/app-services';",
    "import { messageIds as imported } from './dispatch';",
  ],
  [
    'the engine does not import task types',
    'functions/engine/x.ts',
    "import { simulateTask as imported } from '../tasks/simulate';",
    "import { TaskCatalog as imported } from './catalog';",
  ],
  [
    'nothing below the app knows Azure Functions',
    'functions/events/x.ts',
    "import { InvocationContext as imported } from '@azure/functions';",
    "import { taskChannel as imported } from './event-json';",
  ],
  [
    'storage does not import the engine',
    'functions/storage/x.ts',
    "import { runSlice as imported } from '../engine/run-slice';",
    "import { sqlList as imported } from './sql-list';",
  ],
  [
    'messaging does not import the app',
    'functions/messaging/x.ts',
    "import { triggers as imported } from '../app/triggers';",
    "import { TaskQueue as imported } from './task-queue';",
  ],
  [
    'platform imports nothing of the app',
    'functions/platform/x.ts',
    "import { isFinished as imported } from '../model/task';",
    "import { describeError as imported } from './describe-error';",
  ],
  [
    'the model has no I/O',
    'functions/model/x.ts',
    "import { Pool as imported } from 'pg';",
    "import { z as imported } from 'zod';",
  ],
  [
    'the contract is built from the model only',
    'functions/contract/x.ts',
    "import { TaskRepository as imported } from '../storage/task-repository';",
    "import { TASK_STATUSES as imported } from '../model/task';",
  ],
  [
    'the app does not import local tooling',
    'functions/app/x.ts',
    "import { startLocalStack as imported } from '../../local-dev/stack';",
    "import { appServices as imported } from './app-services';",
  ],
  [
    'the Service Bus emulator imports nothing of the app',
    'local-dev/servicebus-emulator/x.ts',
    "import { TaskQueue as imported } from '../../functions/messaging/task-queue';",
    "import { startServiceBusEmulator as imported } from './server';",
  ],
];

describe('layering: ESLint refuses imports across the layers of docs/architecture.md', () => {
  for (const [rule, at, wrong, right] of RULES) {
    it(`${rule}: a wrong import fails, a right one passes`, async () => {
      const errors = await layeringErrors(at, wrong);
      assert.equal(errors.length, 1, `${wrong} in ${at}: ${JSON.stringify(errors)}`);
      assert.deepEqual(await layeringErrors(at, right), []);
    });
  }

  it('the tree passes every layering rule', async () => {
    const results = await layeringLint().lintFiles(['functions', 'local-dev', 'client']);
    const broken = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === RULE)
        .map((m) => `${r.filePath.slice(root.length + 1)}:${m.line} ${m.message}`),
    );
    assert.deepEqual(broken, []);
  });
});
