import { execFileSync } from 'node:child_process';

/**
 * The CLI tests run the built bins and the browser tests load the built console, so build both
 * once before any test, with the same `npm run build` a deployment runs (zod's bundle included).
 */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
