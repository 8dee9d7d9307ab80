import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { embeddedIpv4 } from './ipv6.js';

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
    // `::ffff:169.254.169.254` is written `::ffff:a9fe:a9fe` by the URL parser: read the IPv4
    // address any IPv6 form carries (mapped, translated, NAT64, 6to4).
    const inner = embeddedIpv4(lower);
    if (inner !== undefined) return isMetadataAddress(inner);
    return /^fe[89ab]/.test(lower) || lower === 'fd00:ec2::254';
  }
  return false;
}

/**
 * Addresses inside a private network: loopback, RFC 1918, carrier-grade NAT (100.64/10), link-local,
 * "this network" (0/8), IPv6 unique-local (fc00::/7) and link-local. Webhooks (alert
 * notifications) must not reach them unless allow-listed: a webhook URL is configuration an
 * attacker may influence, and the service's own network is what it must not be pointed at.
 */
export function isPrivateAddress(address: string): boolean {
  const lower = address.toLowerCase();
  if (isIP(lower) === 4) {
    const [a = 0, b = 0] = lower.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254)
    );
  }
  if (isIP(lower) === 6) {
    const inner = embeddedIpv4(lower);
    if (inner !== undefined) return isPrivateAddress(inner);
    return lower === '::1' || lower === '::' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
  }
  return false;
}

export interface GuardOptions {
  /** Also refuse private-network addresses (webhooks); metadata addresses are always refused. */
  blockPrivate?: boolean;
}

export class BlockedAddressError extends Error {
  readonly code = 'ERR_BLOCKED_ADDRESS';
  constructor(host: string, address: string, kind = 'a cloud metadata address') {
    super(`refusing to connect to ${host} (${address}): it is ${kind}`);
  }
}

/** Why `address` (a literal) is refused under `options`; undefined when it is not. */
export function blockedKind(address: string, options: GuardOptions): string | undefined {
  if (isMetadataAddress(address)) return 'a cloud metadata address';
  if (options.blockPrivate === true && isPrivateAddress(address)) {
    return 'a private-network address (allow-list the host to use it)';
  }
  return undefined;
}

/** Throws when `hostname` is a metadata (or, with `blockPrivate`, private) host and not allow-listed. */
export function assertHostAllowed(
  hostname: string,
  allowHosts: readonly string[],
  options: GuardOptions = {},
): void {
  // Brackets of an IPv6 literal off; a name's trailing dot (`localhost.`) names the same host.
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (isAllowed(hostname, allowHosts)) return;
  if (metadataHostnames.has(host)) throw new BlockedAddressError(host, host);
  if (options.blockPrivate === true && host === 'localhost') {
    throw new BlockedAddressError(
      host,
      host,
      'a private-network address (allow-list the host to use it)',
    );
  }
  const kind = blockedKind(host, options);
  if (kind !== undefined) throw new BlockedAddressError(host, host, kind);
}

/** Whether `hostname` is allow-listed, compared without brackets, case or a trailing dot. */
function isAllowed(hostname: string, allowHosts: readonly string[]): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return allowHosts.includes(host) || allowHosts.includes(host.replace(/\.$/, ''));
}

/**
 * A `dns.lookup` replacement for `net.connect` that refuses names resolving to metadata
 * addresses, so a DNS answer cannot redirect a call there after the URL was checked.
 */
export function guardedLookup(
  allowHosts: readonly string[],
  guard: GuardOptions = {},
): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, []);
      if (!isAllowed(hostname, allowHosts)) {
        for (const entry of addresses) {
          const kind = blockedKind(entry.address, guard);
          if (kind !== undefined) {
            return callback(new BlockedAddressError(hostname, entry.address, kind), []);
          }
        }
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
