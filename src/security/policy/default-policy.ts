import { parsePolicyText } from './document.js';
import { compilePolicies, type CompiledPolicies } from './evaluate.js';

/** The `source` of the built-in policies in decisions and logs. */
export const defaultPolicySource = 'built-in default';

/**
 * The policies in force when no policy file is configured. Written as a policy document so it
 * goes through the same parser and evaluator as a file, and so `assistd policy default` can print
 * it as a starting point.
 *
 * Every authenticated caller may chat, list models and manage conversations. "Their own data" is
 * enforced by the conversation store, which scopes every read and write to the caller (another
 * caller's conversation is a 404), not by the policy. Everything else — the admin routes and
 * /metrics — is for group admin only (a token issued with `--admin` is in group admin).
 */
export const defaultPolicyYaml = `# assistd built-in policies (used when no policy file is configured)
policies:
  - name: default-chat
    effect: allow
    actions: ["create:chat", "create:completion"]
    resources: ["/v1/chat", "/v1/chat/completions"]
    principals: ["*"]
    description: every authenticated caller may chat
  - name: default-models
    effect: allow
    actions: ["list:model", "get:model"]
    resources: ["/v1/models", "/v1/models/*"]
    principals: ["*"]
    description: every authenticated caller may list models
  - name: default-conversations
    effect: allow
    actions: ["list:conversation", "get:conversation", "update:conversation", "delete:conversation"]
    resources: ["/v1/conversations", "/v1/conversations/*"]
    principals: ["*"]
    description: every caller manages their own conversations (the store scopes them)
  - name: default-admin
    effect: allow
    actions: ["*"]
    resources: ["*"]
    principals: ["group:admin"]
    description: administrators may do everything, including /admin/* and /metrics
`;

let compiled: CompiledPolicies | undefined;

/** The built-in policies, parsed once. */
export function defaultPolicies(): CompiledPolicies {
  compiled ??= compilePolicies(parsePolicyText(defaultPolicyYaml, defaultPolicySource));
  return compiled;
}
