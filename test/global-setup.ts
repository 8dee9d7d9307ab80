import { execFileSync } from 'node:child_process';

/** The CLI tests run the built bins, so build them once before any test. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
