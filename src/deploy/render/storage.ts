import type { IPersistentVolumeClaim } from 'kubernetes-models/v1';
import { metadata, objectName } from './labels.js';
import type { Values } from './values-schema.js';

/**
 * The model volume of `models.mode: shared`: one ReadOnlyMany claim that every replica (and the
 * backup job) mounts read-only at /opt/models, in whatever zone it runs. It needs a storage class
 * that offers ROX across zones (NFS, a regional disk, a CSI file class) and a volume that already
 * holds the models: give `models.dataSource` (a VolumeSnapshot or a claim filled with `assistd
 * restore models`), or fill the share before the first start. Where no such class exists, use
 * `models.mode: per-pod`.
 */
export function modelsClaim(values: Values): IPersistentVolumeClaim {
  const { dataSource } = values.models;
  const claim = sharedClaim(values, 'models', 'ReadOnlyMany', values.models);
  if (dataSource !== undefined) claim.spec!.dataSource = { ...dataSource };
  return claim;
}

/**
 * The log volume of `logs.mode: shared`. A Deployment cannot give each pod a claim of its own
 * that outlives it, and logs must outlive pods, so it is one ReadWriteMany claim on the HDD class
 * (which must offer RWX: NFS or a CSI file class) where each pod appends to its own
 * /var/log/assistd/<pod>.log. Nothing in the pod rotates or deletes those files: the server
 * reopens its file on SIGHUP, for a logrotate run against the share.
 */
export function logsClaim(values: Values): IPersistentVolumeClaim {
  return sharedClaim(values, 'logs', 'ReadWriteMany', values.logs);
}

/** One claim every pod mounts: its name, access mode, storage class and size. */
function sharedClaim(
  values: Values,
  name: string,
  accessMode: 'ReadOnlyMany' | 'ReadWriteMany',
  volume: { storageClassName: string; size: string },
): IPersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata(values, objectName(values, name), 'storage'),
    spec: {
      accessModes: [accessMode],
      storageClassName: volume.storageClassName,
      resources: { requests: { storage: volume.size } },
    },
  };
}
