import type { SimulationRequest } from '../api/policy-simulate';

/** The simulator form's text, as typed. */
export interface SimulatorForm {
  principal: string;
  groups: string;
  action: string;
  resource: string;
}

/** "ops, admins,,ops " → ["ops", "admins"]: trimmed, empty entries and repeats left out. */
export function parseGroups(text: string): string[] {
  const groups: string[] = [];
  for (const part of text.split(',')) {
    const group = part.trim();
    if (group !== '' && !groups.includes(group)) groups.push(group);
  }
  return groups;
}

/**
 * The request body for the form, or undefined while principal, action or resource is blank.
 * `groups` is left out when none are given.
 */
export function simulationRequest(form: SimulatorForm): SimulationRequest | undefined {
  const principal = form.principal.trim();
  const action = form.action.trim();
  const resource = form.resource.trim();
  if (principal === '' || action === '' || resource === '') return undefined;
  const groups = parseGroups(form.groups);
  return groups.length === 0
    ? { principal, action, resource }
    : { principal, groups, action, resource };
}
