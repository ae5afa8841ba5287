import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/**
 * Looks a required external program up on PATH. Under CI=true a missing tool
 * fails the test; elsewhere the test is skipped with a loud message.
 */
export function requireTool(t: TestContext, tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    return true;
  } catch {
    const message = `required tool "${tool}" is not installed; run scripts/install-test-tools.sh`;
    if (process.env.CI === 'true') throw new Error(message);
    console.error(`SKIPPED: ${message}`);
    t.skip(message);
    return false;
  }
}
