import type { ApiClient } from './client';

/** The body of `POST /admin/policies/simulate`: one request to decide, nothing performed. */
export interface SimulationRequest {
  principal: string;
  groups?: string[];
  action: string;
  resource: string;
}

/** The policy statement that decided, with where it is written. */
export interface DecidingStatement {
  name: string;
  effect: string;
  source: string;
  line: number;
  description?: string;
}

export type SimulationReason = 'allow' | 'explicit-deny' | 'default-deny';

export interface SimulationResult {
  allowed: boolean;
  reason: SimulationReason;
  /** Null: no statement matched, so the default denied. */
  statement: DecidingStatement | null;
  explanation: string;
}

/** Asks the server how its policies decide `request`; a 400 rejects with the ApiError. */
export async function simulatePolicy(
  api: ApiClient,
  request: SimulationRequest,
  signal?: AbortSignal,
): Promise<SimulationResult> {
  const body = (await api.json('/admin/policies/simulate', {
    method: 'POST',
    body: request,
    signal,
  })) as SimulationResult;
  return { ...body, allowed: body.allowed === true, statement: body.statement ?? null };
}
