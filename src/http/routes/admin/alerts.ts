import type { FastifyInstance } from 'fastify';
import type { Alerting } from '../../../monitor/alerts/index.js';

/**
 * `GET /admin/alerts`: every rule with its definition and state (inactive, pending, firing,
 * resolved; since when, the last value, the next evaluation, the last delivery per channel), the
 * recent transitions, and each channel's counters (sent, failed, dropped, retried, queued).
 */
export function alertRoutes(app: FastifyInstance, alerting: Alerting): void {
  app.get('/admin/alerts', async () => ({ object: 'alerts', ...alerting.snapshot() }));
}
