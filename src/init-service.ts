#!/usr/bin/env node
import { quietOnClosedStdout } from './cli/io.js';
import { runCli } from './cli/program.js';

quietOnClosedStdout(true);

// `init-service …` is `assistd serve …`, under the name the deployment runbook uses.
process.exitCode = await runCli([
  process.argv[0]!,
  process.argv[1]!,
  'serve',
  ...process.argv.slice(2),
]);
