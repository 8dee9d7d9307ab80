import { useEffect, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client';
import { type OpsAccess, probeOpsAccess } from '../api/ops-access';

/**
 * What the principal may see of the Operations pages; undefined while the probes run. One probe
 * per section, once per page load (the simulator's is a POST that the server audits).
 */
export function useOpsAccess(api: ApiClient): OpsAccess | undefined {
  const [access, setAccess] = useState<OpsAccess | undefined>(undefined);
  useEffect(() => {
    let current = true;
    void probeOpsAccess(api).then((result) => {
      if (current) setAccess(result);
    });
    return () => {
      current = false;
    };
  }, [api]);
  return access;
}
