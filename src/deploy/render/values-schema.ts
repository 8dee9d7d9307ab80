import * as z from '../../util/zod.js';
import { logLevels } from '../../config/schema.js';
import { CronSchedule } from '../../util/cron.js';
import { byteQuantity, cpuQuantity } from './quantity.js';

// The values of `assistd deploy render`: what an operator may change in the rendered manifests.
// Every object is strict, so a misspelt key is an error rather than a silently ignored setting.
// default-values.ts holds the same defaults as a commented file (`assistd deploy values`); a test
// keeps the two equal.

/** A DNS-1123 label: names of objects, namespaces and the instance. */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
  error: 'must be a DNS label: lowercase letters, digits and -, at most 63 characters',
});

/** Object names that get a suffix (`assistd-models`) stay within 63 characters. */
const instanceName = dnsLabel.refine((name) => name.length <= 40, {
  error: 'must be at most 40 characters (object names add suffixes such as -models)',
});

const labelMap = z.record(
  z.string().regex(/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, {
    error: 'must be a label key',
  }),
  z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, {
    error: 'must be a label value (at most 63 letters, digits, -, _ or .)',
  }),
);

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/, {
  error: 'must be a CIDR such as 10.0.0.0/8',
});

const port = z.int().min(1).max(65535);

/**
 * Where a NetworkPolicy egress rule may go: a CIDR (`cidr`, optionally minus `except`), or pods
 * chosen by labels (`podLabels`, in the namespaces matching `namespaceLabels`, or in this
 * namespace when it is absent). Exactly one of the two kinds.
 */
const peerFields = {
  cidr: cidr.optional(),
  except: z.array(cidr).optional(),
  namespaceLabels: labelMap.optional(),
  podLabels: labelMap.optional(),
};
type PeerFields = {
  cidr?: string | undefined;
  namespaceLabels?: Record<string, string> | undefined;
  podLabels?: Record<string, string> | undefined;
};
const onePeerKind = (peer: PeerFields) =>
  (peer.cidr === undefined) !==
  (peer.namespaceLabels === undefined && peer.podLabels === undefined);
const onePeerKindError = {
  error: 'give either cidr or namespaceLabels/podLabels, not both and not neither',
};
const peer = (defaults: PeerFields) =>
  z.strictObject(peerFields).refine(onePeerKind, onePeerKindError).default(defaults);
const peerWithPort = (defaults: PeerFields & { port: number }) =>
  z
    .strictObject({ ...peerFields, port: port.default(defaults.port) })
    .refine(onePeerKind, onePeerKindError)
    .default(defaults);

/** A key of an existing Secret. Nothing secret is ever rendered: only these references. */
const secretRef = (name: string, key: string) =>
  z
    .strictObject({
      name: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, {
        error: 'must be a Secret name (lowercase letters, digits, - and .)',
      }),
      key: z.string().regex(/^[-._A-Za-z0-9]+$/, { error: 'must be a Secret key' }),
    })
    .default({ name, key });

const resourceSchema = z.strictObject({
  cpu: cpuQuantity,
  memory: byteQuantity,
});

export const valuesSchema = z
  .strictObject({
    /** `app.kubernetes.io/instance` and the prefix of every object's name. */
    name: instanceName.default('assistd'),
    /** Namespace of every object (it must exist; the manifests do not create it). */
    namespace: dnsLabel.default('assistd'),
    image: z
      .strictObject({
        repository: z.string().min(1).default('assistd'),
        /** Default: the version of the assistd that renders (package.json). */
        tag: z
          .string()
          .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { error: 'must be an image tag' })
          .optional(),
        pullPolicy: z.enum(['IfNotPresent', 'Always', 'Never']).default('IfNotPresent'),
      })
      .prefault({}),
    /** Replicas, spread over zones; also the autoscaler's minimum. */
    replicas: z.int().min(1).max(1000).default(3),
    autoscaling: z
      .strictObject({
        enabled: z.boolean().default(true),
        maxReplicas: z.int().min(1).max(1000).default(10),
        /** Average CPU use, as a percentage of the CPU request, the autoscaler aims at. */
        targetCpuPercent: z.int().min(1).max(100).default(70),
      })
      .prefault({}),
    resources: z
      .strictObject({
        requests: resourceSchema.default({ cpu: '2', memory: '4Gi' }),
        limits: resourceSchema.default({ cpu: '4', memory: '8Gi' }),
      })
      .prefault({}),
    server: z
      .strictObject({
        /**
         * Seconds in-flight requests (streams included) get to finish after SIGTERM: config
         * `shutdown_grace_seconds`. The pod's termination grace period adds the preStop sleep and
         * a margin to it.
         */
        drainSeconds: z.int().min(0).max(3600).default(25),
        /** Seconds the pod keeps serving after it is told to stop, while endpoints are removed. */
        preStopSleepSeconds: z.int().min(0).max(60).default(5),
        /** Longest start (a local model loads before /health answers), seconds. */
        startupSeconds: z.int().min(10).max(3600).default(300),
        logLevel: z.enum(logLevels).default('info'),
      })
      .prefault({}),
    model: z
      .strictObject({
        /** An OpenAI-compatible endpoint (MODEL_ENDPOINT); its API key is `secrets.apiKey`. */
        endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
        /** The endpoint's model name (config `upstream.model`); default: its first listed. */
        upstreamModel: z.string().min(1).optional(),
        /** Serve the GGUF model in /opt/models in process (ASSISTD_MODEL_PATH). */
        local: z.boolean().default(true),
      })
      .prefault({}),
    models: z
      .strictObject({
        /**
         * `shared`: one ReadOnlyMany claim every pod mounts (a storage class that offers ROX to
         * every zone: NFS, a regional or CSI file class). `per-pod`: each pod gets its own
         * volume of `storageClassName`, filled from `snapshot` by `assistd restore models`.
         */
        mode: z.enum(['shared', 'per-pod']).default('shared'),
        size: byteQuantity.default('200Gi'),
        storageClassName: z.string().min(1).default('ssd'),
        /** Shared mode: what the claim is made from (a VolumeSnapshot or a filled claim). */
        dataSource: z
          .strictObject({
            kind: z.string().min(1),
            name: z.string().min(1),
            apiGroup: z.string().min(1).optional(),
          })
          .optional(),
        /** Per-pod mode: the snapshot to restore (`assistd backup list`). */
        snapshot: z
          .string()
          .regex(/^[0-9TZ-]+-[0-9a-f]{8}$/, { error: 'must be a snapshot id from backup list' })
          .optional(),
      })
      .prefault({}),
    logs: z
      .strictObject({
        /**
         * `shared`: one ReadWriteMany claim at /var/log, each pod appending to
         * /var/log/assistd/<pod>.log. `stdout`: no volume; the node's log collector keeps them.
         */
        mode: z.enum(['shared', 'stdout']).default('shared'),
        size: byteQuantity.default('50Gi'),
        storageClassName: z.string().min(1).default('hdd'),
      })
      .prefault({}),
    /** emptyDir limit of the data dir (audit checkpoint file, unshipped conversation log). */
    dataDirSizeLimit: byteQuantity.default('10Gi'),
    database: z
      .strictObject({
        /** PostgreSQL shared by the replicas; the password is `secrets.databasePassword`. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'must be a postgres:// URL' })
          .default('postgres://assistd@postgres:5432/assistd'),
      })
      .prefault({}),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\/\S+$/, { error: 'must be a redis:// or rediss:// URL' })
          .default('redis://redis:6379/0'),
      })
      .prefault({}),
    objectStore: z
      .strictObject({
        bucket: z.string().min(3).default('assistd-backups'),
        prefix: z.string().default('assistd/'),
        /** An S3-compatible endpoint (MinIO, Ceph); absent for AWS. */
        endpoint: z.url({ protocol: /^https?$/ }).optional(),
        region: z.string().min(1).default('us-east-1'),
        /** With `secrets.objectStoreSecretKey`; both absent: the pod's identity (IRSA, env). */
        accessKeyId: z.string().min(1).optional(),
      })
      .prefault({}),
    /** Ship every conversation change to object storage within seconds (`log_shipping`). */
    logShipping: z.boolean().default(true),
    secrets: z
      .strictObject({
        /** The endpoint's API key, mounted as /secrets/api_key.txt (when model.endpoint is set). */
        apiKey: secretRef('assistd-api-key', 'api_key.txt'),
        /** The master key file (`v1:<base64 of 32 bytes>` lines); the same for every replica. */
        masterKey: secretRef('assistd-master-key', 'master.key'),
        databasePassword: secretRef('assistd-database', 'password').nullable(),
        redisPassword: secretRef('assistd-redis', 'password').nullable().default(null),
        objectStoreSecretKey: secretRef('assistd-object-store', 'secret_access_key')
          .nullable()
          .default(null),
        /** A token allowed `get:metrics`, for `monitoring.scrape: token`. */
        metricsToken: secretRef('assistd-metrics-token', 'token'),
        /** Also render each referenced Secret with placeholder values, to fill in before use. */
        createSkeletons: z.boolean().default(false),
      })
      .prefault({}),
    ingress: z
      .strictObject({
        enabled: z.boolean().default(false),
        host: z
          .string()
          .regex(/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: 'must be a host name' })
          .optional(),
        className: z.string().min(1).optional(),
        /** A TLS Secret for `host`; TLS ends at the ingress. */
        tlsSecretName: z.string().min(1).optional(),
        annotations: z.record(z.string(), z.string()).default({}),
      })
      .refine((ingress) => !ingress.enabled || ingress.host !== undefined, {
        error: 'ingress.host is required when the ingress is enabled',
        path: ['host'],
      })
      .prefault({}),
    networkPolicy: z
      .strictObject({
        enabled: z.boolean().default(true),
        dns: peer({
          namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
          podLabels: { 'k8s-app': 'kube-dns' },
        }),
        ntp: peer({ cidr: '0.0.0.0/0' }),
        /** Required when model.endpoint is set; port default: the endpoint URL's. */
        modelEndpoint: z
          .strictObject({ ...peerFields, port: port.optional() })
          .refine(onePeerKind, onePeerKindError)
          .optional(),
        database: peerWithPort({
          podLabels: { 'app.kubernetes.io/name': 'postgresql' },
          port: 5432,
        }),
        redis: peerWithPort({ podLabels: { 'app.kubernetes.io/name': 'redis' }, port: 6379 }),
        objectStore: peerWithPort({ cidr: '0.0.0.0/0', port: 443 }),
        /** Namespaces whose Prometheus may scrape the metrics port. */
        monitoringNamespaceLabels: labelMap.default({
          'kubernetes.io/metadata.name': 'monitoring',
        }),
      })
      .prefault({}),
    monitoring: z
      .strictObject({
        /**
         * `listener`: a second port (`metrics.listen`) serving only /metrics without a token.
         * `token`: /metrics on the http port with `secrets.metricsToken`.
         */
        scrape: z.enum(['listener', 'token']).default('listener'),
        metricsPort: port.default(9464),
        serviceMonitor: z
          .strictObject({
            enabled: z.boolean().default(true),
            interval: z
              .string()
              .regex(/^\d+[smh]$/)
              .default('30s'),
            /** Labels the Prometheus resource's serviceMonitorSelector matches. */
            labels: labelMap.default({}),
          })
          .prefault({}),
        prometheusRule: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** Labels the Prometheus resource's ruleSelector matches. */
            labels: labelMap.default({}),
          })
          .prefault({}),
      })
      .prefault({}),
    backup: z
      .strictObject({
        /** A CronJob running `assistd backup models` (shared model mode only). */
        enabled: z.boolean().default(true),
        schedule: z
          .string()
          .refine(isCron, { error: 'must be a five-field cron expression, e.g. "0 3 * * *"' })
          .default('0 3 * * *'),
        timeZone: z.string().min(1).default('Etc/UTC'),
      })
      .prefault({}),
    /** Policy YAML (`assistd policy default` prints the built-ins); absent: the built-ins. */
    policies: z.string().min(1).optional(),
    /** More config.yaml settings (limits, alerts…), checked against the config schema. */
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((values, context) => {
    if (values.autoscaling.enabled && values.autoscaling.maxReplicas < values.replicas) {
      context.addIssue({
        code: 'custom',
        path: ['autoscaling', 'maxReplicas'],
        message: `must be at least replicas (${values.replicas})`,
      });
    }
    if (values.models.mode === 'per-pod' && values.models.snapshot === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['models', 'snapshot'],
        message: 'is required with models.mode per-pod (the snapshot each pod restores)',
      });
    }
    if (values.model.endpoint !== undefined && values.networkPolicy.modelEndpoint === undefined) {
      if (values.networkPolicy.enabled) {
        context.addIssue({
          code: 'custom',
          path: ['networkPolicy', 'modelEndpoint'],
          message: 'is required when model.endpoint is set (the cidr or pods it resolves to)',
        });
      }
    }
  });

function isCron(expression: string): boolean {
  try {
    new CronSchedule(expression);
    return true;
  } catch {
    return false;
  }
}

/** Values as a values file gives them (every key optional). */
export type ValuesInput = z.input<typeof valuesSchema>;
/** Values with every default filled in. */
export type Values = z.output<typeof valuesSchema>;
/** An egress peer of `networkPolicy`. */
export type Peer = PeerFields & { except?: string[] | undefined; port?: number | undefined };
