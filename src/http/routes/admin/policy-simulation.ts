import type { FastifyInstance } from 'fastify';
import * as z from '../../../util/zod.js';
import {
  asciiLowerCase,
  explainDecision,
  type AccessRequest,
  type StatementRef,
} from '../../../security/policy/evaluate.js';
import { requestAction, requestActionRule } from '../../../security/policy/document.js';
import type { AppDeps } from '../../app.js';
import { parseBody } from '../../validate.js';

const simulationSchema = z.strictObject({
  principal: z.string().min(1).max(256),
  groups: z.array(z.string().min(1).max(128)).max(64).default([]),
  action: z.string().max(128).regex(requestAction, requestActionRule),
  resource: z.string().min(1).max(1024),
});

/** The deciding statement as JSON; `description` only when the statement has one. */
function statementJson(statement: StatementRef) {
  return {
    name: statement.name,
    effect: statement.effect,
    source: statement.source,
    line: statement.line,
    ...(statement.description === undefined ? {} : { description: statement.description }),
  };
}

/**
 * `POST /admin/policies/simulate`: what the policies in force now decide for one request, the
 * way the auth plugin decides a real one (principal as subject plus groups, evaluated by the same
 * `PolicySet`), with the statement that decided and the line `assistd policy check` prints.
 * Changes nothing; audited like every route.
 */
export function policySimulationRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post('/admin/policies/simulate', (request) => {
    const body = parseBody(simulationSchema, request.body);
    const access: AccessRequest = {
      principal: { subject: body.principal, groups: body.groups },
      // The evaluator folds actions itself; folding here too makes the explanation name the
      // action as it was compared (route-actions.ts actions are lower case).
      action: asciiLowerCase(body.action),
      resource: body.resource,
    };
    const decision = deps.policies.evaluate(access);
    return {
      allowed: decision.allowed,
      reason: decision.reason,
      statement: decision.statement === undefined ? null : statementJson(decision.statement),
      explanation: explainDecision(access, decision),
    };
  });
}
