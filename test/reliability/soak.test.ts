// The soak's CI subset (reliability issue, part 4): bench/soak.ts for 60 s instead of 10 minutes:
// no error, open descriptors at rest growing under 10 %. RSS may grow up to 25 % here: a minute is
// not steady state (the heap still grows toward its working size; 20 s runs read +10 % with the
// context cache still filling), while the 10-minute `npm run soak` holds the 10 % target. The
// context cache is kept to 200 entries so it reaches its bound within the 30 s warm-up.
// `npm run soak` is the full run; docs/reliability.md has its last figures.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../support/process.js';

it('a short soak at half capacity on mixed traffic: no error, no growth', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/soak.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SOAK_SECONDS: '60',
      SOAK_WARMUP_SECONDS: '30',
      SOAK_CAPACITY_SECONDS: '4',
      SOAK_CACHE_ENTRIES: '200',
      SOAK_RSS_LIMIT: '0.25',
    },
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
