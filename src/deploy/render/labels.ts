import type { IConfigMap } from 'kubernetes-models/v1';
import { packageVersion } from './package-version.js';
import type { Values } from './values-schema.js';

/** An object's metadata (the same type in every kind). */
export type ObjectMeta = NonNullable<IConfigMap['metadata']>;

/** What an object is part of (`app.kubernetes.io/component`). */
export type Component = 'server' | 'backup' | 'config' | 'storage' | 'network' | 'monitoring';

/** The image tag in force: the values' tag, else this assistd's version. */
export function imageTag(values: Values): string {
  return values.image.tag ?? packageVersion();
}

export function imageOf(values: Values): string {
  return `${values.image.repository}:${imageTag(values)}`;
}

/** `<instance>-<suffix>`, or the instance name alone. */
export function objectName(values: Values, suffix?: string): string {
  return suffix === undefined ? values.name : `${values.name}-${suffix}`;
}

/**
 * The labels that pick this instance's pods (server and backup jobs alike): the NetworkPolicy's
 * selector. Never the version: a selector must not change between releases.
 */
export function instanceSelector(values: Values): Record<string, string> {
  return { 'app.kubernetes.io/name': 'assistd', 'app.kubernetes.io/instance': values.name };
}

/** The labels that pick one component's pods (the Deployment's and Service's selector). */
export function componentSelector(values: Values, component: Component): Record<string, string> {
  return { ...instanceSelector(values), 'app.kubernetes.io/component': component };
}

/** The recommended labels every object carries. */
export function commonLabels(values: Values, component: Component): Record<string, string> {
  const tag = imageTag(values);
  return {
    ...componentSelector(values, component),
    // A label value holds at most 63 characters; a longer tag is left out rather than cut.
    ...(tag.length <= 63 ? { 'app.kubernetes.io/version': tag } : {}),
    'app.kubernetes.io/part-of': 'assistd',
    'app.kubernetes.io/managed-by': 'assistd-deploy-render',
  };
}

export function metadata(
  values: Values,
  name: string,
  component: Component,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): ObjectMeta {
  const annotations = extra.annotations ?? {};
  return {
    name,
    namespace: values.namespace,
    labels: { ...commonLabels(values, component), ...extra.labels },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}
