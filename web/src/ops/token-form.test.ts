import { describe, expect, it } from 'vitest';
import { fieldMessage, fieldOfParam, tokenRequest, ttlMs } from './token-form';

const form = { principal: ' carol@example.com ', groups: '', ttl: '30d', admin: false };

describe('ttlMs', () => {
  it('reads a number and a unit, as the server does', () => {
    expect(ttlMs('90s')).toBe(90_000);
    expect(ttlMs('15m')).toBe(900_000);
    expect(ttlMs(' 12h ')).toBe(43_200_000);
    expect(ttlMs('30d')).toBe(30 * 86_400_000);
    expect(ttlMs('2w')).toBe(14 * 86_400_000);
  });

  it('refuses anything else, and zero', () => {
    for (const text of ['', '30', 'd', '0d', '1.5h', '30 d', '3y', '-1d', '1234567d', '1D']) {
      expect(ttlMs(text), text).toBeUndefined();
    }
  });
});

describe('tokenRequest', () => {
  it('trims the principal and leaves out what is blank or off', () => {
    expect(tokenRequest({ ...form, ttl: '' })).toEqual({
      ok: true,
      request: { principal: 'carol@example.com' },
    });
    expect(tokenRequest(form)).toEqual({
      ok: true,
      request: { principal: 'carol@example.com', ttl: '30d' },
    });
  });

  it('sends groups as a list and the admin flag when ticked', () => {
    expect(tokenRequest({ ...form, groups: 'ops, support,,ops', admin: true })).toEqual({
      ok: true,
      request: {
        principal: 'carol@example.com',
        groups: ['ops', 'support'],
        ttl: '30d',
        admin: true,
      },
    });
  });

  it('names each field that is wrong', () => {
    const result = tokenRequest({
      principal: '  ',
      groups: 'ops, bad group',
      ttl: '3 days',
      admin: false,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(['groups', 'principal', 'ttl']);
    expect(result.errors.groups).toContain('“bad group”');
  });

  it('refuses control characters and overlong principals or groups', () => {
    expect(tokenRequest({ ...form, principal: 'a\u0007b' }).ok).toBe(false);
    expect(tokenRequest({ ...form, principal: '\u202eevil' }).ok).toBe(false);
    expect(tokenRequest({ ...form, principal: 'a\u2066b' }).ok).toBe(false);
    expect(tokenRequest({ ...form, principal: 'admin\u200b' }).ok).toBe(false);
    expect(tokenRequest({ ...form, principal: 'x\u061cy' }).ok).toBe(false);
    expect(tokenRequest({ ...form, principal: '张三' }).ok).toBe(true);
    expect(tokenRequest({ ...form, principal: 'x'.repeat(201) }).ok).toBe(false);
    expect(tokenRequest({ ...form, principal: 'x'.repeat(200) }).ok).toBe(true);
    expect(tokenRequest({ ...form, groups: 'g'.repeat(65) }).ok).toBe(false);
    expect(tokenRequest({ ...form, groups: 'team:ops, a.b_c-d@e' }).ok).toBe(true);
  });
});

describe('fieldOfParam', () => {
  it('maps the server’s param to a form field', () => {
    expect(fieldOfParam('principal')).toBe('principal');
    expect(fieldOfParam('ttl')).toBe('ttl');
    expect(fieldOfParam('groups')).toBe('groups');
    expect(fieldOfParam('groups[2]')).toBe('groups');
  });

  it('leaves other params and none to the form as a whole', () => {
    expect(fieldOfParam(undefined)).toBeUndefined();
    expect(fieldOfParam('admin')).toBeUndefined();
    expect(fieldOfParam('principals')).toBeUndefined();
  });
});

describe('fieldMessage', () => {
  it('drops the field name the server’s message starts with', () => {
    expect(
      fieldMessage('ttl 90d is longer than security.max_token_ttl_days (30 days).', 'ttl'),
    ).toBe('90d is longer than security.max_token_ttl_days (30 days).');
    expect(fieldMessage('principal: is required', 'principal')).toBe('Is required');
    expect(fieldMessage('groups[1]: must be a string', 'groups[1]')).toBe('Must be a string');
    expect(fieldMessage('Something else.', 'ttl')).toBe('Something else.');
    expect(fieldMessage('ttl', 'ttl')).toBe('ttl');
  });
});
