import type { ValuesInput } from '../values-schema.js';

/** Every optional part switched on: ingress, per-pod models, secret skeletons, token scrape. */
export const everythingOn: ValuesInput = {
  name: 'chat',
  namespace: 'ai',
  image: { repository: 'registry.example.com/assistd', tag: '1.2.3' },
  model: { endpoint: 'https://llm.example.internal:8443/v1', upstreamModel: 'llama3-70b' },
  models: { mode: 'per-pod', snapshot: '2024-06-01T03-00-00Z-0123abcd' },
  logs: { mode: 'stdout' },
  objectStore: { endpoint: 'https://minio.example.internal', accessKeyId: 'AKIAEXAMPLE' },
  secrets: {
    createSkeletons: true,
    redisPassword: { name: 'chat-redis', key: 'password' },
    objectStoreSecretKey: { name: 'chat-object-store', key: 'secret_access_key' },
  },
  ingress: {
    enabled: true,
    host: 'chat.example.com',
    className: 'nginx',
    tlsSecretName: 'chat-tls',
    annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' },
  },
  networkPolicy: {
    modelEndpoint: { cidr: '10.20.0.0/16' },
    database: { cidr: '10.30.0.5/32', port: 5433 },
  },
  monitoring: { scrape: 'token', serviceMonitor: { labels: { release: 'prometheus' } } },
  policies: [
    'policies:',
    '  - name: everyone-chats',
    '    effect: allow',
    '    actions: ["create:chat"]',
    '    resources: ["/v1/chat"]',
    '    principals: ["*"]',
    '',
  ].join('\n'),
  config: { limits: { requests_per_minute: 1200 }, upstream: { max_retries: 3 } },
};

/** The runbook's deployment: the defaults plus a model endpoint (its egress needs a CIDR). */
export const runbook: ValuesInput = {
  model: { endpoint: 'https://llm.example.internal:8443/v1' },
  networkPolicy: { modelEndpoint: { cidr: '10.20.0.0/16' } },
};
