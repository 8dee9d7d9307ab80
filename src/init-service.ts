#!/usr/bin/env node
import { runCli } from './cli/program.js';

// `init-service …` is `assistd serve …`, under the name the deployment runbook uses.
process.exitCode = await runCli([
  process.argv[0]!,
  process.argv[1]!,
  'serve',
  ...process.argv.slice(2),
]);
