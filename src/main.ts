#!/usr/bin/env node
import { quietOnClosedStdout } from './cli/io.js';
import { runCli } from './cli/program.js';

quietOnClosedStdout(process.argv[2] === 'serve');
process.exitCode = await runCli(process.argv);
