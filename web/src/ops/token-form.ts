import type { IssueTokenRequest } from '../api/tokens';
import { parseGroups } from './simulator-form';

/** The issue form's text, as typed. */
export interface TokenForm {
  principal: string;
  /** Comma-separated. */
  groups: string;
  /** `30d`, `12h`…; blank: the server's default. */
  ttl: string;
  admin: boolean;
}

/** The fields a message can be shown next to. */
export type TokenField = 'principal' | 'groups' | 'ttl';

export type TokenFormErrors = Partial<Record<TokenField, string>>;

/** The form's result: the request to send, or what is wrong with each field. */
export type TokenFormResult =
  { ok: true; request: IssueTokenRequest } | { ok: false; errors: TokenFormErrors };

// The same rules as `assistd tokens issue` (src/cli/tokens.ts) and util/duration.ts, so most
// mistakes are caught before a request; the server checks again (and knows the longest lifetime).
// A principal holds no control or format characters (bidirectional marks, zero-width
// spaces…) nor line separators, and no white space at either end (src/security/names.ts says
// why).
const unseen = '\\p{Cc}\\p{Cs}\\p{Cf}\\p{Zl}\\p{Zp}';
const principalPattern = new RegExp(
  `^[^\\s${unseen}](?:[^${unseen}]{0,198}[^\\s${unseen}])?$`,
  'u',
);
const groupPattern = /^[A-Za-z0-9._:@-]{1,64}$/;
const ttlPattern = /^(\d{1,6})([smhdw])$/;

const unitMs: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `90s`, `15m`, `12h`, `30d`, `2w` in milliseconds; undefined for anything else or zero. */
export function ttlMs(text: string): number | undefined {
  const match = ttlPattern.exec(text.trim());
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = unitMs[match[2] ?? ''];
  return amount > 0 && unit !== undefined ? amount * unit : undefined;
}

/** Checks the form as the server would, and builds the request body (blank fields left out). */
export function tokenRequest(form: TokenForm): TokenFormResult {
  const errors: TokenFormErrors = {};
  const principal = form.principal.trim();
  if (principal === '') errors.principal = 'Enter who the token is for.';
  else if (!principalPattern.test(principal)) {
    errors.principal = 'At most 200 characters, without control characters.';
  }
  const groups = parseGroups(form.groups);
  const bad = groups.find((group) => !groupPattern.test(group));
  if (bad !== undefined) {
    errors.groups = `“${bad}” is not a group name: 1–64 letters, digits or . _ : @ -`;
  }
  const ttl = form.ttl.trim();
  if (ttl !== '' && ttlMs(ttl) === undefined) {
    errors.ttl = 'A number and a unit: 15m, 12h, 30d or 2w (s, m, h, d, w).';
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const request: IssueTokenRequest = { principal };
  if (groups.length > 0) request.groups = groups;
  if (ttl !== '') request.ttl = ttl;
  if (form.admin) request.admin = true;
  return { ok: true, request };
}

/**
 * The field a server error names in `param` (`principal`, `groups`, `groups[1]`, `ttl`), or
 * undefined when it names none of the form's fields (the message then goes above the form).
 */
export function fieldOfParam(param: string | undefined): TokenField | undefined {
  if (param === undefined) return undefined;
  const name = /^[a-z_]+/.exec(param)?.[0];
  if (name === 'principal' || name === 'groups' || name === 'ttl') return name;
  return undefined;
}

/**
 * The server's message for a field, without the field's name it starts with ("ttl 90d is
 * longer…", "principal: is required"): shown next to the field, the label already names it.
 */
export function fieldMessage(message: string, param: string): string {
  for (const prefix of [`${param}: `, `${param} `]) {
    if (message.startsWith(prefix) && message.length > prefix.length) {
      const rest = message.slice(prefix.length);
      return rest.charAt(0).toUpperCase() + rest.slice(1);
    }
  }
  return message;
}
