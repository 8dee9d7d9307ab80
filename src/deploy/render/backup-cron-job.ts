import type { ICronJob } from 'kubernetes-models/batch/v1';
import { commonLabels, imageOf, metadata, objectName } from './labels.js';
import { containerEnv, paths } from './pod-env.js';
import {
  containerSecurityContext,
  podSecurityContext,
  podVolumeMounts,
  podVolumes,
  prepareContainer,
} from './pod-spec.js';
import type { Values } from './values-schema.js';

/**
 * The daily model backup: `assistd backup models` takes an incremental, encrypted snapshot of
 * /opt/models (the shared claim, mounted read-only) into object storage. It runs with the
 * server's image, config, secrets and security context, and opens PostgreSQL to write its audit
 * record. `Forbid`: a slow backup is never overlapped by the next one. The server's own schedule
 * (`backup.schedule`) stays unset, so backups are not taken twice.
 */
export function backupCronJob(values: Values, configDigest: string): ICronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: metadata(values, objectName(values, 'backup-models'), 'backup'),
    spec: {
      schedule: values.backup.schedule,
      timeZone: values.backup.timeZone,
      concurrencyPolicy: 'Forbid',
      // A run missed by more than an hour (controller down) waits for the next day.
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          ttlSecondsAfterFinished: 7 * 24 * 3600,
          template: {
            metadata: {
              labels: commonLabels(values, 'backup'),
              annotations: { 'assistd.dev/config-sha256': configDigest },
            },
            spec: {
              restartPolicy: 'Never',
              enableServiceLinks: false,
              automountServiceAccountToken: false,
              securityContext: podSecurityContext(),
              initContainers: [prepareContainer(values, 'backup')],
              containers: [
                {
                  name: 'backup-models',
                  image: imageOf(values),
                  imagePullPolicy: values.image.pullPolicy,
                  command: ['assistd'],
                  args: ['backup', 'models', '--config', paths.configFile],
                  env: containerEnv(values, { jobs: true }),
                  resources: {
                    requests: { cpu: '500m', memory: '512Mi' },
                    limits: { cpu: '2', memory: '2Gi' },
                  },
                  securityContext: containerSecurityContext(),
                  volumeMounts: podVolumeMounts(values, 'backup'),
                },
              ],
              volumes: podVolumes(values, 'backup'),
            },
          },
        },
      },
    },
  };
}
