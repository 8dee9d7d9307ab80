import { isIP } from 'node:net';

/** The eight 16-bit groups of an IPv6 literal (zone dropped), or undefined for anything else. */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a = 0, b = 0, c = 0, d = 0] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', tail] = text.split('::');
  const first = parse(head);
  if (tail === undefined) return first;
  const last = parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/**
 * The IPv4 address an IPv6 literal carries, dotted: IPv4-mapped (`::ffff:0:0/96`), IPv4-translated
 * (`::ffff:0:0:0/96`), IPv4-compatible (`::/96` but `::` and `::1`), NAT64 (`64:ff9b::/96`,
 * `64:ff9b:1::/48`) and 6to4 (`2002::/16`). Undefined when there is none.
 */
export function embeddedIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (groups?.length !== 8) return undefined;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const dotted = (high: number, low: number) =>
    [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  const zeroesBefore = (count: number) => groups.slice(0, count).every((group) => group === 0);
  if (zeroesBefore(5) && g5 === 0xffff) return dotted(g6, g7);
  if (zeroesBefore(4) && g4 === 0xffff && g5 === 0) return dotted(g6, g7);
  if (zeroesBefore(6) && !(g6 === 0 && g7 <= 1)) return dotted(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && (g2 === 0 || g2 === 1) && g3 === 0 && g4 === 0 && g5 === 0) {
    return dotted(g6, g7);
  }
  if (g0 === 0x2002) return dotted(g1 ?? 0, g2 ?? 0);
  return undefined;
}
