/** Policy documents shared by the policy tests and the CLI tests. */

/** The two policies from the issue, verbatim. */
export const seedYaml = `policies:
  - name: admin-access
    effect: allow
    actions: ["*"]
    resources: ["*"]
    principals: ["admin@example.com"]
  - name: read-only
    effect: allow
    actions: ["get:*", "list:*"]
    resources: ["/v1/chat"]
    principals: ["dev@example.com"]
`;

/** Denies, groups, group patterns, subject patterns, `?`, `*` principals. */
export const mixedYaml = `policies:
  - name: chat-for-staff
    effect: allow
    actions: ["create:chat", "create:completion"]
    resources: ["/v1/chat", "/v1/chat/completions"]
    principals: ["*@example.com"]
  - name: no-chat-for-contractors
    effect: deny
    actions: ["create:*"]
    resources: ["/v1/chat*"]
    principals: ["group:contractors"]
  - name: readers
    effect: allow
    actions: ["GET:*", "list:*"]
    resources: ["/v1/*"]
    principals: ["group:readers"]
  - name: conversation-owners
    effect: allow
    actions: ["*:conversation"]
    resources: ["/v1/conversations/*"]
    principals: ["*"]
  - name: frozen-conversation
    effect: deny
    actions: ["update:conversation", "delete:conversation"]
    resources: ["/v1/conversations/conv_frozen"]
    principals: ["*"]
  - name: one-char-ids
    effect: allow
    actions: ["get:report"]
    resources: ["/reports/?"]
    principals: ["Alice@example.com"]
  - name: team-leads
    effect: allow
    actions: ["list:audit"]
    resources: ["/admin/audit"]
    principals: ["group:team-*"]
  - name: banned
    effect: deny
    actions: ["*"]
    resources: ["*"]
    principals: ["mallory@example.com"]
`;
