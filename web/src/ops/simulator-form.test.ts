import { describe, expect, it } from 'vitest';
import { parseGroups, simulationRequest } from './simulator-form';

describe('parseGroups', () => {
  it('splits on commas, trims, and drops empty entries and repeats', () => {
    expect(parseGroups('')).toEqual([]);
    expect(parseGroups(' , ,')).toEqual([]);
    expect(parseGroups('ops')).toEqual(['ops']);
    expect(parseGroups(' ops, admins,,ops ')).toEqual(['ops', 'admins']);
  });
});

describe('simulationRequest', () => {
  const form = {
    principal: ' alice@example.com ',
    groups: '',
    action: 'create:chat',
    resource: '/v1/chat',
  };

  it('trims the fields and leaves out empty groups', () => {
    expect(simulationRequest(form)).toEqual({
      principal: 'alice@example.com',
      action: 'create:chat',
      resource: '/v1/chat',
    });
  });

  it('sends the groups given', () => {
    expect(simulationRequest({ ...form, groups: 'ops, admins' })?.groups).toEqual([
      'ops',
      'admins',
    ]);
  });

  it('is undefined while a required field is blank', () => {
    expect(simulationRequest({ ...form, principal: '  ' })).toBeUndefined();
    expect(simulationRequest({ ...form, action: '' })).toBeUndefined();
    expect(simulationRequest({ ...form, resource: '' })).toBeUndefined();
  });
});
