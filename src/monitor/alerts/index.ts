// The alert engine: rules (YAML or built-in) evaluated against the time series, notifications
// sent through the configured channels. server.ts wires `Alerting` and GET /admin/alerts.
export { Alerting, loadAlertRules } from './alerting.js';
export type { AlertingOptions, AlertsSnapshot, LoadAlertRulesOptions } from './alerting.js';
export { builtInRules, builtInSource, defaultRuleSet } from './default-rules.js';
export { AlertDispatcher, defaultChannelLimits, defaultPerMinute } from './dispatcher.js';
export type { AlertDispatcherOptions } from './dispatcher.js';
export type { ChannelLimits, ChannelStats } from './channel-sender.js';
export { AlertEngine } from './evaluator.js';
export type { AlertEngineOptions, ReloadSummary } from './evaluator.js';
export type { AlertEvent, AlertSink, DeliveryReport } from './events.js';
export type { AlertRule, Comparison } from './rule.js';
export type { RuleContext } from './rule-checks.js';
export { loadRulesFile, maxRulesFileBytes, parseRulesText } from './rule-file.js';
export { RulesFileError, formatRuleIssue } from './rule-set.js';
export type { RuleIssue, RuleSet } from './rule-set.js';
export type {
  AlertEngineSnapshot,
  AlertRuleView,
  AlertStateView,
  AlertTransition,
  DeliveryView,
} from './snapshot.js';
export type { AlertState } from './state-machine.js';
export { systemTimers } from './timers.js';
export type { Cancel, Timers } from './timers.js';
