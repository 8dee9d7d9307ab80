import type { Config } from '../../config/schema.js';
import {
  defaultRuleSet,
  formatRuleIssue,
  loadRulesFile,
  RulesFileError,
} from '../../monitor/alerts/index.js';
import { seriesCatalog } from '../../monitor/series.js';
import { parsePolicyText, PolicyFileError } from '../../security/policy/document.js';
import { compilePolicies } from '../../security/policy/evaluate.js';
import { readPolicyFile } from '../../security/policy/policy-set.js';
import { fail, pass, skip, warn, type Check } from './check.js';

/**
 * The policy file and the alert rules file, validated by the code `policy validate` and
 * `alerts check` use (and the server loads them with): any error fails, warnings warn.
 */
export function rulesChecks(config: Readonly<Config>): Check[] {
  return [
    {
      id: 'policy-file',
      title: 'Policy file',
      run: async () => {
        const path = config.security.policies_file;
        if (path === undefined)
          return skip('no security.policies_file: the built-in policies apply');
        let policies;
        try {
          policies = compilePolicies(parsePolicyText(await readPolicyFile(path), path));
        } catch (error) {
          if (error instanceof PolicyFileError) return fail(error.message);
          throw error;
        }
        const detail = `${policies.source}: valid, ${policies.statementCount} statements`;
        if (policies.warnings.length === 0) return pass(detail);
        const lines = policies.warnings.map(
          (problem) => `${problem.line}:${problem.column}: ${problem.path}: ${problem.message}`,
        );
        return warn([detail, ...lines].join('\n'));
      },
    },
    {
      id: 'alert-rules',
      title: 'Alert rules',
      run: async () => {
        const path = config.alerts.rules_file;
        const context = { reader: seriesCatalog, channels: Object.keys(config.alerts.channels) };
        let rules;
        try {
          rules = path === undefined ? defaultRuleSet(context) : await loadRulesFile(path, context);
        } catch (error) {
          if (error instanceof RulesFileError) return fail(error.message);
          throw error;
        }
        const detail = `${rules.source}: valid, ${rules.rules.length} rules`;
        if (rules.warnings.length === 0) return pass(detail);
        if (Object.keys(config.alerts.channels).length === 0) {
          // One line rather than one per rule and channel: the cause is the same.
          return warn(`${detail}; no alerts.channels configured: firing alerts notify nobody`);
        }
        const lines = rules.warnings.map((issue) => formatRuleIssue(rules.source, issue));
        return warn([detail, ...lines].join('\n'));
      },
    },
  ];
}
