// The soak's CI subset (reliability issue, part 4): bench/soak.ts for 20 s instead of 10 minutes,
// with the same targets (no error; RSS and open descriptors growing under 10 % after warm-up).
// `npm run soak` is the full run; docs/reliability.md has its last figures.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../support/process.js';

it('a short soak at half capacity on mixed traffic: no error, no growth', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/soak.ts')], {
    cwd: repoRoot,
    env: { ...process.env, SOAK_SECONDS: '20', SOAK_CAPACITY_SECONDS: '4' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(output, output).toContain('soak: passed');
  expect(code).toBe(0);
  expect(output).toMatch(/, 0 errors \(target 0\)/);
}, 180_000);
