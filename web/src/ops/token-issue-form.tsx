import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error';
import type { ApiClient } from '../api/client';
import { type IssuedToken, issueToken } from '../api/tokens';
import { describeError, failureText } from '../error-text';
import { OpsError } from './ops-error';
import {
  type TokenField,
  type TokenForm,
  type TokenFormErrors,
  fieldMessage,
  fieldOfParam,
  tokenRequest,
} from './token-form';

const emptyForm: TokenForm = { principal: '', groups: '', ttl: '30d', admin: false };
const fieldOrder: TokenField[] = ['principal', 'groups', 'ttl'];

export interface TokenIssueFormProps {
  api: ApiClient;
  /** The new token: shown once by the section, then forgotten. */
  onIssued: (issued: IssuedToken) => void;
}

/**
 * "Issue a token": principal, groups, lifetime and the admin flag. The form checks what it can
 * (the CLI's rules); a server refusal naming a field (`param`) is shown next to that field.
 */
export function TokenIssueForm({ api, onIssued }: TokenIssueFormProps) {
  const [form, setForm] = useState<TokenForm>(emptyForm);
  const [errors, setErrors] = useState<TokenFormErrors>({});
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const inputs = {
    principal: useRef<HTMLInputElement>(null),
    groups: useRef<HTMLInputElement>(null),
    ttl: useRef<HTMLInputElement>(null),
  };

  function showErrors(next: TokenFormErrors) {
    setErrors(next);
    const first = fieldOrder.find((field) => next[field] !== undefined);
    if (first !== undefined) inputs[first].current?.focus();
  }

  async function submit(event: Event) {
    event.preventDefault();
    setFormError(undefined);
    const checked = tokenRequest(form);
    if (!checked.ok) {
      showErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const issued = await issueToken(api, checked.request);
      setForm(emptyForm);
      onIssued(issued);
    } catch (failure) {
      const param = failure instanceof ApiError ? failure.param : undefined;
      const field = fieldOfParam(param);
      if (field !== undefined && param !== undefined && failure instanceof ApiError) {
        showErrors({ [field]: fieldMessage(describeError(failure), param) });
      } else {
        setFormError(failureText('The token could not be issued', failure));
      }
    } finally {
      setBusy(false);
    }
  }

  /** Props shared by the three text fields: value, validity and what describes them. */
  function textField(field: TokenField, hint?: string) {
    const described = [hint, errors[field] === undefined ? undefined : `token-${field}-error`]
      .filter((id) => id !== undefined)
      .join(' ');
    return {
      ref: inputs[field],
      id: `token-${field}`,
      class: 'text-input text-input--small',
      'data-testid': `token-${field}`,
      value: form[field],
      'aria-invalid': errors[field] !== undefined,
      'aria-describedby': described === '' ? undefined : described,
      onInput: (event: Event) => {
        const value = (event.currentTarget as HTMLInputElement).value;
        setForm({ ...form, [field]: value });
        if (errors[field] !== undefined) setErrors({ ...errors, [field]: undefined });
      },
    };
  }

  function fieldError(field: TokenField) {
    const text = errors[field];
    if (text === undefined) return null;
    return (
      <span
        class="ops-error small"
        id={`token-${field}-error`}
        data-testid={`token-${field}-error`}
      >
        {text}
      </span>
    );
  }

  return (
    <form
      class="token-form"
      aria-labelledby="token-form-title"
      noValidate
      onSubmit={(event) => void submit(event)}
    >
      <h3 class="token-form-title" id="token-form-title">
        Issue a token
      </h3>
      <div class="token-fields">
        <div class="ops-field">
          <label for="token-principal">Principal</label>
          <input
            {...textField('principal')}
            placeholder="e.g. carol@example.com"
            maxLength={200}
            autocomplete="off"
            required
          />
          {fieldError('principal')}
        </div>
        <div class="ops-field">
          <label for="token-groups">Groups (comma-separated, optional)</label>
          <input
            {...textField('groups')}
            placeholder="e.g. ops, support"
            maxLength={1024}
            autocomplete="off"
          />
          {fieldError('groups')}
        </div>
        <div class="ops-field ops-field--narrow">
          <label for="token-ttl">Lifetime</label>
          <input
            {...textField('ttl', 'token-ttl-hint')}
            maxLength={8}
            autocomplete="off"
            spellcheck={false}
          />
          <span class="muted small" id="token-ttl-hint">
            15m, 12h, 30d, 2w; blank: the server’s default
          </span>
          {fieldError('ttl')}
        </div>
        <label class="token-admin">
          <input
            type="checkbox"
            data-testid="token-admin"
            checked={form.admin}
            onChange={(event) => setForm({ ...form, admin: event.currentTarget.checked })}
          />
          <span>Administrator (adds the “admin” group)</span>
        </label>
        <div class="token-form-actions">
          <button
            type="submit"
            class="button button--primary"
            data-testid="token-issue"
            disabled={busy}
          >
            {busy ? 'Issuing…' : 'Issue token'}
          </button>
        </div>
      </div>
      <OpsError message={formError} testId="token-form-error" />
    </form>
  );
}
