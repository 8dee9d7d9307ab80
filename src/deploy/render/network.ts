import type {
  IIngress,
  INetworkPolicy,
  INetworkPolicyEgressRule,
  INetworkPolicyIngressRule,
  INetworkPolicyPeer,
} from 'kubernetes-models/networking.k8s.io/v1';
import type { IService, IServicePort } from 'kubernetes-models/v1';
import { componentSelector, instanceSelector, metadata, objectName } from './labels.js';
import { httpPort } from './pod-env.js';
import type { Peer, Values } from './values-schema.js';

/** The replicas' ClusterIP Service: the API on 18789, and the scrape port in listener mode. */
export function service(values: Values): IService {
  const ports: IServicePort[] = [
    { name: 'http', port: httpPort, targetPort: 'http', protocol: 'TCP' },
  ];
  if (values.monitoring.scrape === 'listener') {
    const port = values.monitoring.metricsPort;
    ports.push({ name: 'metrics', port, targetPort: 'metrics', protocol: 'TCP' });
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(values, objectName(values), 'server'),
    spec: { type: 'ClusterIP', selector: componentSelector(values, 'server'), ports },
  };
}

/** The public entry: TLS ends here (the pods serve plain HTTP behind it). */
export function ingress(values: Values): IIngress {
  const { host, className, tlsSecretName, annotations } = values.ingress;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(values, objectName(values), 'network', { annotations }),
    spec: {
      ...(className === undefined ? {} : { ingressClassName: className }),
      ...(tlsSecretName === undefined
        ? {}
        : { tls: [{ hosts: [host!], secretName: tlsSecretName }] }),
      rules: [
        {
          host: host!,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: objectName(values), port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  };
}

function toPeer(peer: Peer): INetworkPolicyPeer {
  if (peer.cidr !== undefined) {
    return { ipBlock: { cidr: peer.cidr, ...(peer.except ? { except: [...peer.except] } : {}) } };
  }
  return {
    ...(peer.namespaceLabels
      ? { namespaceSelector: { matchLabels: { ...peer.namespaceLabels } } }
      : {}),
    ...(peer.podLabels ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {}),
  };
}

function egressTo(
  peer: Peer,
  ports: Array<{ port: number; protocol: 'TCP' | 'UDP' }>,
): INetworkPolicyEgressRule {
  return { to: [toPeer(peer)], ports };
}

/** The endpoint URL's port: the one it names, else 443 for https and 80 for http. */
export function endpointPort(endpoint: string): number {
  const url = new URL(endpoint);
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * The runbook's security-group table as a NetworkPolicy over every pod of this instance (server
 * replicas and backup jobs). SSH (TCP 22 from the operations range) belongs to the nodes, not to
 * pods: it is a rule of the node security group or firewall, not of this policy.
 */
export function networkPolicy(values: Values): INetworkPolicy {
  const rules = values.networkPolicy;
  const ingressRules: INetworkPolicyIngressRule[] = [
    // The API from anywhere (the ingress controller, other namespaces, the load balancer).
    { ports: [{ protocol: 'TCP', port: httpPort }] },
  ];
  if (values.monitoring.scrape === 'listener') {
    ingressRules.push({
      from: [{ namespaceSelector: { matchLabels: { ...rules.monitoringNamespaceLabels } } }],
      ports: [{ protocol: 'TCP', port: values.monitoring.metricsPort }],
    });
  }
  const egress: INetworkPolicyEgressRule[] = [
    egressTo(rules.dns, [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]),
    egressTo(rules.ntp, [{ protocol: 'UDP', port: 123 }]),
    egressTo(rules.database, [{ protocol: 'TCP', port: rules.database.port }]),
    egressTo(rules.redis, [{ protocol: 'TCP', port: rules.redis.port }]),
    egressTo(rules.objectStore, [{ protocol: 'TCP', port: rules.objectStore.port }]),
  ];
  if (values.model.endpoint !== undefined && rules.modelEndpoint !== undefined) {
    const port = rules.modelEndpoint.port ?? endpointPort(values.model.endpoint);
    egress.push(egressTo(rules.modelEndpoint, [{ protocol: 'TCP', port }]));
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(values, objectName(values), 'network'),
    spec: {
      podSelector: { matchLabels: instanceSelector(values) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: ingressRules,
      egress,
    },
  };
}
