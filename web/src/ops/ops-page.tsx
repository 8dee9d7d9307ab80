import type { ApiClient } from '../api/client';
import { type OpsAccess, allowedSections } from '../api/ops-access';
import type { OpsSection } from '../route';
import type { Theme } from '../theme';
import { OpsAlerts } from './ops-alerts';
import { OpsAudit } from './ops-audit';
import { OpsBackups } from './ops-backups';
import { OpsCharts } from './ops-charts';
import { OpsKeys } from './ops-keys';
import { OpsSimulator } from './ops-simulator';
import { OpsTokens } from './ops-tokens';
import '../styles/ops.css';

export interface OpsPageProps {
  api: ApiClient;
  theme: Theme;
  access: OpsAccess;
  /** The section in the URL; undefined: the first one the principal may see. */
  section: OpsSection | undefined;
}

const labels: Record<OpsSection, string> = {
  charts: 'Metrics',
  alerts: 'Alerts',
  audit: 'Audit log',
  keys: 'Signing keys',
  tokens: 'Tokens',
  backups: 'Backups',
  simulator: 'Access simulator',
};

/** The Operations pages: one link per section the principal's policies allow, and that section. */
export function OpsPage(props: OpsPageProps) {
  const sections = allowedSections(props.access);
  const shown = props.section ?? sections[0];
  const allowed = shown !== undefined && sections.includes(shown);
  return (
    <div class="ops-page">
      <h1 class="ops-title">Operations</h1>
      <nav class="ops-tabs" aria-label="Operations sections">
        {sections.map((section) => (
          <a
            key={section}
            class="ops-tab"
            href={`#/ops/${section}`}
            data-testid={`ops-tab-${section}`}
            aria-current={section === shown ? 'page' : undefined}
          >
            {labels[section]}
          </a>
        ))}
      </nav>
      {props.access.charts === 'disabled' && (
        <p class="muted small" data-testid="ops-metrics-disabled">
          Metrics are turned off on this server, so there are no charts.
        </p>
      )}
      {!allowed && (
        <p class="ops-denied" data-testid="ops-denied">
          You do not have access to this operations page.
        </p>
      )}
      {allowed && shown === 'charts' && <OpsCharts api={props.api} theme={props.theme} />}
      {allowed && shown === 'alerts' && <OpsAlerts api={props.api} />}
      {allowed && shown === 'audit' && <OpsAudit api={props.api} />}
      {allowed && shown === 'keys' && <OpsKeys api={props.api} />}
      {allowed && shown === 'tokens' && <OpsTokens api={props.api} />}
      {allowed && shown === 'backups' && <OpsBackups api={props.api} />}
      {allowed && shown === 'simulator' && <OpsSimulator api={props.api} />}
    </div>
  );
}
