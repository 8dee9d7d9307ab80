import { describe, expect, it } from 'vitest';
import { assertHostAllowed, isMetadataAddress, isPrivateAddress } from './outbound-guard.js';

describe('outbound guard (model endpoints, downloads)', () => {
  it('sees a metadata address inside any IPv6 form the URL parser may write', () => {
    for (const url of [
      'http://169.254.169.254/latest',
      'http://[::ffff:169.254.169.254]/latest',
      'http://[::ffff:a9fe:a9fe]/latest',
      'http://[64:ff9b::a9fe:a9fe]/latest',
      'http://[fd00:ec2::254]/latest',
      'http://metadata.google.internal/',
    ]) {
      expect(() => assertHostAllowed(new URL(url).hostname, []), url).toThrow(/metadata/);
    }
    expect(isMetadataAddress('100.100.100.200')).toBe(true);
    expect(isMetadataAddress('8.8.8.8')).toBe(false);
  });

  it('lets an allow-listed host through, and private ranges only when asked to block them', () => {
    expect(() => assertHostAllowed('169.254.169.254', ['169.254.169.254'])).not.toThrow();
    expect(() => assertHostAllowed('10.0.0.5', [])).not.toThrow();
    expect(() => assertHostAllowed('10.0.0.5', [], { blockPrivate: true })).toThrow(/private/);
    expect(isPrivateAddress('::ffff:c0a8:0101')).toBe(true);
    expect(isPrivateAddress('203.0.113.7')).toBe(false);
  });
});
