import { createServer, type Server } from 'node:http';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertPublicHost,
  blockedAddressKind,
  embeddedIpv4,
  publicOnlyLookup,
} from './private-address.js';

describe('embeddedIpv4', () => {
  it('reads the IPv4 address inside mapped, translated, compatible, NAT64 and 6to4 literals', () => {
    expect(embeddedIpv4('::ffff:a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIpv4('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(embeddedIpv4('0:0:0:0:0:ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('::ffff:0:a00:1')).toBe('10.0.0.1');
    expect(embeddedIpv4('::7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIpv4('64:ff9b:1::c0a8:101')).toBe('192.168.1.1');
    expect(embeddedIpv4('2002:0a00:0001::1')).toBe('10.0.0.1');
    expect(embeddedIpv4('::1')).toBeUndefined();
    expect(embeddedIpv4('::')).toBeUndefined();
    expect(embeddedIpv4('2001:db8::1')).toBeUndefined();
    expect(embeddedIpv4('10.0.0.1')).toBeUndefined();
    expect(embeddedIpv4('example.com')).toBeUndefined();
  });
});

describe('blockedAddressKind', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['127.0.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['0.0.0.0', 'private'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['::1', 'private'],
    ['::', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:7f00:1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(blockedAddressKind(address)).toContain(kind);
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700::1111'])(
    'lets %s through',
    (address) => {
      expect(blockedAddressKind(address)).toBeUndefined();
    },
  );
});

describe('assertPublicHost', () => {
  it('refuses private and metadata hosts as URLs write them, unless allow-listed', () => {
    const host = (url: string) => new URL(url).hostname;
    for (const url of [
      'http://127.0.0.1/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::1]/',
      'http://localhost/',
      'http://localhost./',
      'http://metadata.google.internal./',
      'http://0x7f.1/',
    ]) {
      expect(() => assertPublicHost(host(url), []), url).toThrow(/refusing to connect/);
    }
    expect(() => assertPublicHost('127.0.0.1', ['127.0.0.1'])).not.toThrow();
    expect(() => assertPublicHost('[::1]', ['::1'])).not.toThrow();
    expect(() => assertPublicHost('hooks.example.com', [])).not.toThrow();
    // Allow-listing 127.0.0.1 does not open its IPv6-mapped spelling.
    expect(() => assertPublicHost(host('http://[::ffff:127.0.0.1]/'), ['127.0.0.1'])).toThrow(
      /private-network/,
    );
  });
});

describe('publicOnlyLookup at connect time', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((_request, response) => response.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('refuses a name whose DNS answer is private, and connects when the name is allow-listed', async () => {
    const guarded = new Agent({ connect: { lookup: publicOnlyLookup([]) } });
    await expect(
      request(`http://localhost:${port}/`, { dispatcher: guarded }),
    ).rejects.toMatchObject({ code: 'ERR_BLOCKED_ADDRESS' });
    await guarded.close();

    const allowed = new Agent({ connect: { lookup: publicOnlyLookup(['localhost']) } });
    const response = await request(`http://localhost:${port}/`, { dispatcher: allowed });
    expect(await response.body.text()).toBe('reached');
    await allowed.close();
  });
});
