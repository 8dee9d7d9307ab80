import type { LookupFunction } from 'node:net';
import { assertHostAllowed, blockedKind, guardedLookup } from './outbound-guard.js';
import { embeddedIpv4 } from './ipv6.js';

export { embeddedIpv4 };

// Webhook URLs (alert channels) are configuration an attacker may influence, so they must reach
// neither the service's own network nor a cloud metadata service. outbound-guard.ts reads IPv4
// and plain IPv6 literals; an IPv6 literal can also carry an IPv4 address inside it
// (`[::ffff:169.254.169.254]`, which the URL parser writes as `[::ffff:a9fe:a9fe]`), and a literal
// host never goes through DNS, so the check of the URL is the only one it meets.

/**
 * Why a literal address is no place for a webhook: metadata or private-network, read through any
 * IPv4 address embedded in an IPv6 one. Undefined for a public address (or a name).
 */
export function blockedAddressKind(address: string): string | undefined {
  return blockedKind(address, { blockPrivate: true });
}

/**
 * Throws a `BlockedAddressError` unless `hostname` (a URL's, brackets allowed) may receive a
 * webhook: not a metadata or private-network host or literal, or listed in `allowHosts`
 * (lower-case). Names are compared with and without a trailing dot (`localhost.`).
 */
export function assertPublicHost(hostname: string, allowHosts: readonly string[]): void {
  assertHostAllowed(hostname, allowHosts, { blockPrivate: true });
}

/**
 * A `dns.lookup` replacement for a webhook's connection pool: refuses a name whose DNS answer
 * holds a metadata or private-network address (any of them, so a round-robin answer cannot slip
 * one through), unless the name is in `allowHosts`. This is the check at connect time; the URL is
 * checked with `assertPublicHost` before.
 */
export function publicOnlyLookup(allowHosts: readonly string[]): LookupFunction {
  return guardedLookup(allowHosts, { blockPrivate: true });
}
