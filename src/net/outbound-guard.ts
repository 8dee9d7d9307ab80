import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Cloud metadata services answer credentials to anything that can reach them, so outbound calls
 * (model endpoints, later webhooks) must never land there unless an operator allow-lists the host.
 * This covers IPv4 and IPv6 link-local ranges and the fixed metadata addresses of the big clouds.
 */
const metadataHostnames = new Set(['metadata.google.internal', 'metadata', 'metadata.azure.com']);

export function isMetadataAddress(address: string): boolean {
  const lower = address.toLowerCase();
  if (isIP(lower) === 4) {
    return lower.startsWith('169.254.') || lower === '100.100.100.200';
  }
  if (isIP(lower) === 6) {
    if (lower.startsWith('::ffff:')) return isMetadataAddress(lower.slice('::ffff:'.length));
    return /^fe[89ab]/.test(lower) || lower === 'fd00:ec2::254';
  }
  return false;
}

export class BlockedAddressError extends Error {
  readonly code = 'ERR_BLOCKED_ADDRESS';
  constructor(host: string, address: string) {
    super(`refusing to connect to ${host} (${address}): it is a cloud metadata address`);
  }
}

/** Throws when `hostname` is a metadata host or address and is not allow-listed. */
export function assertHostAllowed(hostname: string, allowHosts: readonly string[]): void {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowHosts.includes(host)) return;
  if (metadataHostnames.has(host) || isMetadataAddress(host)) {
    throw new BlockedAddressError(host, host);
  }
}

/**
 * A `dns.lookup` replacement for `net.connect` that refuses names resolving to metadata
 * addresses, so a DNS answer cannot redirect a call there after the URL was checked.
 */
export function guardedLookup(allowHosts: readonly string[]): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, []);
      if (!allowHosts.includes(hostname.toLowerCase())) {
        const blocked = addresses.find((entry) => isMetadataAddress(entry.address));
        if (blocked) return callback(new BlockedAddressError(hostname, blocked.address), []);
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (!first) {
        const notFound = Object.assign(new Error(`no address for ${hostname}`), {
          code: 'ENOTFOUND',
        });
        return callback(notFound, []);
      }
      callback(null, first.address, first.family);
    });
  };
}
