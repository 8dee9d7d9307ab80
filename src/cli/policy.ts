import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { defaultPolicies, defaultPolicyYaml } from '../security/policy/default-policy.js';
import {
  parsePolicyText,
  PolicyFileError,
  requestAction,
  requestActionRule,
} from '../security/policy/document.js';
import {
  compilePolicies,
  explainDecision,
  type AccessRequest,
  type CompiledPolicies,
} from '../security/policy/evaluate.js';
import { readPolicyFile } from '../security/policy/policy-set.js';
import { routeTableMarkdown } from '../security/policy/route-actions.js';
import { hasWildcard } from '../security/policy/wildcard.js';
import { UsageError, type CliIo } from './io.js';

/** Exit code of `policy check` when the request is denied (0: allowed, 2: bad input or file). */
export const deniedExitCode = 3;

interface CheckFlags {
  principal: string;
  group: string[];
  action: string;
  resource: string;
  policies?: string;
  config?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `assistd policy …`: check a request against the policies, validate a policy file, print the
 * built-in default policies or the route → action table. Works offline, without the server.
 */
export function policyCommand(io: CliIo): Command {
  const policy = new Command('policy').description(
    'IAM-style access policies: check a request, validate a file, list route actions',
  );

  policy
    .command('check')
    .description(
      `decide one request and name the statement that decided it (exit 0 allowed, ${deniedExitCode} denied, 2 bad input)`,
    )
    .requiredOption('--principal <subject>', 'the caller, e.g. dev@example.com')
    .option('--group <name>', 'a group the caller is in (repeatable)', collect, [])
    .requiredOption('--action <verb:object>', 'the action, e.g. create:chat (see `policy routes`)')
    .requiredOption('--resource <path>', 'the resource, e.g. /v1/chat')
    .option('--policies <file>', 'policy file (default: security.policies_file of --config)')
    .option(
      '--config <file>',
      'YAML config file whose security.policies_file is used (env ASSISTD_CONFIG)',
    )
    .option('--json', 'print the decision as JSON')
    .action(async (flags: CheckFlags) => {
      for (const [flag, value] of [
        ['--principal', flags.principal],
        ['--action', flags.action],
        ['--resource', flags.resource],
      ] as const) {
        if (value === '') throw new UsageError(`${flag} must not be empty`);
        if (flag !== '--principal' && hasWildcard(value)) {
          throw new UsageError(`${flag} names one request, not a pattern: "${value}"`);
        }
      }
      if (!requestAction.test(flags.action)) {
        throw new UsageError(`--action ${requestActionRule} (see \`assistd policy routes\`)`);
      }
      const policies = await policiesFor(flags, io);
      const request: AccessRequest = {
        principal: { subject: flags.principal, groups: flags.group },
        action: flags.action,
        resource: flags.resource,
      };
      const decision = policies.evaluate(request);
      if (flags.json === true) {
        io.stdout(`${JSON.stringify({ policies: policies.source, ...request, decision })}\n`);
      } else {
        io.stdout(`policies: ${policies.source} (${policies.statementCount} statements)\n`);
        io.stdout(`${explainDecision(request, decision)}\n`);
        if (decision.statement?.description !== undefined) {
          io.stdout(`  ${decision.statement.description}\n`);
        }
      }
      if (!decision.allowed) throw new UsageError('access denied', deniedExitCode);
    });

  policy
    .command('validate')
    .description('check a policy file; print each problem with its line (exit 0 valid, 2 invalid)')
    .argument('<file>', 'the policy file')
    .action(async (file: string) => {
      const policies = await loadFile(resolve(io.cwd, file));
      for (const warning of policies.warnings) {
        io.stderr(
          `warning: ${policies.source}:${warning.line}:${warning.column}: ${warning.path}: ${warning.message}\n`,
        );
      }
      io.stdout(`${policies.source}: valid, ${policies.statementCount} statements\n`);
    });

  policy
    .command('default')
    .description('print the built-in policies used when no policy file is configured')
    .action(() => io.stdout(defaultPolicyYaml));

  policy
    .command('routes')
    .description('print every HTTP route with its action and resource (Markdown)')
    .action(() => io.stdout(`${routeTableMarkdown()}\n`));

  return policy;
}

async function loadFile(path: string): Promise<CompiledPolicies> {
  try {
    return compilePolicies(parsePolicyText(await readPolicyFile(path), path));
  } catch (error) {
    if (error instanceof PolicyFileError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * `--policies`, else `security.policies_file` of `--config` (or `ASSISTD_CONFIG`), else the
 * built-in defaults: the same choice the server makes. Relative paths resolve against the working
 * directory, as every path in the config does.
 */
async function policiesFor(flags: CheckFlags, io: CliIo): Promise<CompiledPolicies> {
  if (flags.policies !== undefined && flags.config !== undefined) {
    throw new UsageError('give --policies or --config, not both');
  }
  if (flags.policies !== undefined) return loadFile(resolve(io.cwd, flags.policies));
  const configPath = flags.config ?? nonEmpty(io.env.ASSISTD_CONFIG);
  if (configPath === undefined) return defaultPolicies();
  const policiesFile = policiesFileOf(resolve(io.cwd, configPath));
  return policiesFile === undefined ? defaultPolicies() : loadFile(resolve(io.cwd, policiesFile));
}

/**
 * Reads only `security.policies_file` from the config file. The full config loader would reject
 * the `security` section until the config schema gains it.
 */
function policiesFileOf(configPath: string): string | undefined {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read config file ${configPath}: ${(error as Error).message}`);
  }
  const security = isRecord(value) ? value.security : undefined;
  const file = isRecord(security) ? security.policies_file : undefined;
  if (file === undefined || file === null) return undefined;
  if (typeof file !== 'string' || file === '') {
    throw new UsageError(`config file ${configPath}: security.policies_file must be a file path`);
  }
  return file;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
