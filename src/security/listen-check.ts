import { isIPv4, isIPv6 } from 'node:net';
import type { Config } from '../config/schema.js';
import { StartupError } from '../providers/startup-error.js';

/**
 * Secure default: plain HTTP is served on loopback only, unless the operator says TLS ends at a
 * proxy in front. Bearer tokens and conversations must not cross a network in clear text.
 */
export function checkListenSecurity(config: Readonly<Config>): void {
  if (config.tls.cert_file !== undefined) return;
  if (config.tls.terminated_by_proxy || isLoopbackHost(config.host)) return;
  throw new StartupError(
    [
      `refusing to serve plain HTTP on ${config.host}, which is not a loopback address:`,
      'bearer tokens and conversations would cross the network unencrypted.',
      'Serve HTTPS with --tls-cert FILE --tls-key FILE (tls.cert_file, tls.key_file);',
      'or, when TLS ends at a proxy or ingress in front of assistd, say so with',
      '--tls-terminated-by-proxy (tls.terminated_by_proxy: true);',
      'or listen on 127.0.0.1.',
    ].join(' '),
  );
}

/**
 * True for `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. Any other name may resolve
 * to a routable address, and 0.0.0.0 / :: listen on every interface.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === 'localhost.') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (!isIPv6(name)) return false;
  const groups = expandIPv6(name);
  // ::1, or 127.0.0.0/8 mapped into IPv6 (::ffff:127.0.0.1, ::ffff:7f00:1).
  return groups === '0000:0000:0000:0000:0000:0000:0000:0001' || /^(0000:){5}ffff:7f/.test(groups);
}

/** The eight groups of a valid IPv6 address, four hex digits each; a dotted IPv4 tail becomes two. */
function expandIPv6(address: string): string {
  const parts = address.split(':');
  const last = parts.at(-1) ?? '';
  if (isIPv4(last)) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    parts.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const [head = '', tail] = parts.join(':').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.padStart(4, '0')).join(':');
}
