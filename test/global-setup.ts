import { execFileSync } from 'node:child_process';

/**
 * The CLI tests run the built bins and the browser tests load the built console, so build both
 * once before any test.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  execFileSync(
    process.execPath,
    [
      'node_modules/vite/bin/vite.js',
      'build',
      '--config',
      'web/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    { stdio: 'inherit' },
  );
}
