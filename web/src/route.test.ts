import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash } from './route';

describe('parseRoute', () => {
  it('reads the chat and the Operations sections', () => {
    expect(parseRoute('')).toEqual({ page: 'chat' });
    expect(parseRoute('#/chat')).toEqual({ page: 'chat' });
    expect(parseRoute('#/ops')).toEqual({ page: 'ops', section: undefined });
    expect(parseRoute('#/ops/alerts')).toEqual({ page: 'ops', section: 'alerts' });
    expect(parseRoute('#/ops/audit/')).toEqual({ page: 'ops', section: 'audit' });
    expect(parseRoute('#/ops/keys')).toEqual({ page: 'ops', section: 'keys' });
    expect(parseRoute('#/ops/simulator')).toEqual({ page: 'ops', section: 'simulator' });
    expect(parseRoute('#/ops/simulator/')).toEqual({ page: 'ops', section: 'simulator' });
    expect(parseRoute('#/ops/tokens')).toEqual({ page: 'ops', section: 'tokens' });
    expect(parseRoute('#/ops/backups/')).toEqual({ page: 'ops', section: 'backups' });
    // An unknown section is still the Operations page: its first allowed section.
    expect(parseRoute('#/ops/nothing')).toEqual({ page: 'ops', section: undefined });
  });

  it('reads a conversation by its id', () => {
    expect(parseRoute('#/c/conv_abc123')).toEqual({ page: 'chat', conversationId: 'conv_abc123' });
    expect(parseRoute('#/c/conv_abc123/')).toEqual({ page: 'chat', conversationId: 'conv_abc123' });
    expect(parseRoute('#/c/a%2Fb')).toEqual({ page: 'chat', conversationId: 'a/b' });
    expect(parseRoute('#/c/%E0%A4%A')).toEqual({ page: 'chat', conversationId: '%E0%A4%A' });
    expect(parseRoute('#/c/')).toBeUndefined();
    expect(routeHash({ page: 'chat', conversationId: 'conv_abc123' })).toBe('#/c/conv_abc123');
    expect(parseRoute(routeHash({ page: 'chat', conversationId: 'a/b c' }))).toEqual({
      page: 'chat',
      conversationId: 'a/b c',
    });
  });

  it('leaves in-page anchors alone', () => {
    expect(parseRoute('#composer-input')).toBeUndefined();
    expect(parseRoute('#/other')).toBeUndefined();
  });

  it('writes the hash it reads', () => {
    expect(routeHash({ page: 'ops', section: 'charts' })).toBe('#/ops/charts');
    expect(parseRoute(routeHash({ page: 'ops', section: 'charts' }))).toEqual({
      page: 'ops',
      section: 'charts',
    });
    expect(routeHash({ page: 'chat' })).toBe('#/chat');
    for (const section of ['keys', 'tokens', 'backups', 'simulator'] as const) {
      expect(routeHash({ page: 'ops', section })).toBe(`#/ops/${section}`);
      expect(parseRoute(routeHash({ page: 'ops', section }))).toEqual({ page: 'ops', section });
    }
  });
});
