import { packageVersion } from './package-version.js';

/**
 * The default values as a commented file (`assistd deploy values`): every key with its default
 * and why, optional keys commented out. values-schema.ts holds the same defaults; a test checks
 * that this file parses to exactly them.
 */
export function defaultValuesYaml(): string {
  return `# assistd deploy render: values. Every key is optional; these are the defaults.
# Render with: assistd deploy render --values values.yaml [--out DIR]
# Unknown keys are errors, so a typo is caught here rather than silently ignored.

# app.kubernetes.io/instance and the prefix of every object name.
name: assistd
# Namespace of every object; it must exist already.
namespace: assistd

image:
  repository: assistd
  # Default: the version of the assistd that renders.
  # tag: "${packageVersion()}"
  pullPolicy: IfNotPresent

# Replicas spread over zones (never two more in one zone than another) and hosts. Also the
# autoscaler's minimum. A PodDisruptionBudget keeps all but one up during drains.
replicas: 3
autoscaling:
  enabled: true
  maxReplicas: 10
  # Average CPU use, % of the request, the autoscaler aims at.
  targetCpuPercent: 70

resources:
  requests:
    cpu: "2"
    memory: 4Gi
  limits:
    cpu: "4"
    memory: 8Gi

server:
  # Seconds in-flight requests and streams get to finish after SIGTERM (config
  # shutdown_grace_seconds). The pod's termination grace period is
  # preStopSleepSeconds + drainSeconds + 10.
  drainSeconds: 25
  # Seconds the pod keeps serving while its endpoints are removed, before SIGTERM.
  # Uses the preStop sleep action: Kubernetes 1.30 or later.
  preStopSleepSeconds: 5
  # Longest start, seconds (a local model loads before /health answers).
  startupSeconds: 300
  logLevel: info

model:
  # An OpenAI-compatible endpoint (MODEL_ENDPOINT). Its API key is secrets.apiKey, mounted as
  # /secrets/api_key.txt (API_KEY_FILE). Needs networkPolicy.modelEndpoint.
  # endpoint: https://llm.example.internal/v1
  # upstreamModel: the endpoint's model name (default: the first it lists)
  # Serve the GGUF model in /opt/models in process (ASSISTD_MODEL_PATH=/opt/models).
  local: true

models:
  # How replicas share the model volume at /opt/models (read-only in the server):
  # shared:  one ReadOnlyMany claim every pod mounts. The storage class must offer ROX in every
  #          zone the pods run in (NFS, a regional disk or a CSI file class), and the volume must
  #          already hold the models: set dataSource, or fill the share before the first start.
  #          The backup CronJob snapshots it daily.
  # per-pod: each pod gets its own claim of storageClassName (a generic ephemeral volume,
  #          deleted with the pod), filled from object storage by an init container running
  #          assistd restore models --snapshot <snapshot>. Starts are slower (the whole model
  #          is downloaded); no ROX class is needed. No backup CronJob: the snapshot is the source.
  mode: shared
  size: 200Gi
  storageClassName: ssd
  # dataSource: {kind: VolumeSnapshot, name: models-2024-06-01, apiGroup: snapshot.storage.k8s.io}
  # snapshot: 2024-06-01T03-00-00Z-0123abcd   # required with per-pod (assistd backup list)

logs:
  # shared: one ReadWriteMany claim at /var/log; each pod appends JSON lines to
  #         /var/log/assistd/<pod name>.log (a Deployment cannot give each pod a lasting claim,
  #         and one RWX claim outlives pods). The class must offer RWX. Nothing in the pod rotates
  #         the files: run logrotate against the share (the server reopens its file on SIGHUP).
  # stdout: no volume; logs go to stdout for the cluster's log collector.
  mode: shared
  size: 50Gi
  storageClassName: hdd

# emptyDir limit of the data dir /var/lib/assistd (audit checkpoint file, conversation-log
# segments not yet shipped). Everything lasting is in PostgreSQL, Redis and object storage.
dataDirSizeLimit: 10Gi

database:
  # PostgreSQL shared by every replica. No password here: secrets.databasePassword.
  url: postgres://assistd@postgres:5432/assistd
redis:
  url: redis://redis:6379/0

objectStore:
  # Backups and the shipped conversation log.
  bucket: assistd-backups
  prefix: assistd/
  # endpoint: https://minio.example.internal   # S3-compatible; absent for AWS
  region: us-east-1
  # accessKeyId: AKIA…   # with secrets.objectStoreSecretKey; both absent: the pod's identity

# Ship every conversation change to object storage within seconds (log_shipping).
logShipping: true

# References to Secrets that must exist; nothing secret is ever rendered. Signing keys are not
# here: they live in PostgreSQL, sealed with the master key (assistd keys …).
secrets:
  apiKey: {name: assistd-api-key, key: api_key.txt}
  # The master key file: lines "v1:<base64 of 32 bytes>"; every replica needs the same one.
  masterKey: {name: assistd-master-key, key: master.key}
  databasePassword: {name: assistd-database, key: password}   # null: no password file
  redisPassword: null          # e.g. {name: assistd-redis, key: password}
  objectStoreSecretKey: null   # e.g. {name: assistd-object-store, key: secret_access_key}
  # A token allowed get:metrics, used with monitoring.scrape: token.
  metricsToken: {name: assistd-metrics-token, key: token}
  # Also render each referenced Secret with placeholder values (to fill in, never real ones).
  createSkeletons: false

ingress:
  enabled: false
  # host: assistd.example.com   # required when enabled
  # className: nginx
  # tlsSecretName: assistd-tls  # TLS ends at the ingress; the pods serve plain HTTP behind it
  annotations: {}

# The runbook's security groups. Ingress: TCP 18789 from anywhere (and the metrics port from
# the monitoring namespaces). Egress: only DNS, NTP, the model endpoint, PostgreSQL, Redis and
# object storage. Each peer is a cidr (with optional except) or namespaceLabels/podLabels.
# SSH (TCP 22 from the operations range) is for nodes, not pods: not in this policy.
networkPolicy:
  enabled: true
  dns:
    namespaceLabels: {kubernetes.io/metadata.name: kube-system}
    podLabels: {k8s-app: kube-dns}
  ntp: {cidr: 0.0.0.0/0}
  # Required with model.endpoint; port default: the endpoint URL's.
  # modelEndpoint: {cidr: 10.20.0.0/16, port: 443}
  database:
    podLabels: {app.kubernetes.io/name: postgresql}
    port: 5432
  redis:
    podLabels: {app.kubernetes.io/name: redis}
    port: 6379
  objectStore: {cidr: 0.0.0.0/0, port: 443}
  monitoringNamespaceLabels: {kubernetes.io/metadata.name: monitoring}

monitoring:
  # listener: a second port serving only /metrics, no token (metrics.listen); reachable only
  #           from the monitoring namespaces.
  # token:    /metrics on the http port with the bearer token in secrets.metricsToken.
  scrape: listener
  metricsPort: 9464
  serviceMonitor:
    enabled: true
    interval: 30s
    labels: {}   # what your Prometheus' serviceMonitorSelector matches
  prometheusRule:
    # The built-in alert rules: CPU > 85 %, P99 latency > 2000 ms, error rate > 5 %.
    enabled: true
    labels: {}   # what your Prometheus' ruleSelector matches

backup:
  # A CronJob running assistd backup models (shared models only).
  enabled: true
  schedule: "0 3 * * *"
  timeZone: Etc/UTC

# Policy YAML mounted as /etc/assistd/policies.yaml (assistd policy default prints the
# built-ins). Absent: the built-in policies apply and no file is mounted.
# policies: |
#   policies:
#     - name: ...

# More config.yaml settings (limits, alerts, upstream timeouts…), checked against the server's
# config schema. Keys the renderer sets (paths, addresses, ports) are refused here.
config: {}
`;
}
