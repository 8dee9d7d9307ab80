import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewMessage, SigningKeyRecord, Store, TokenRecord, TurnRecord } from './types.js';
import { allMessages } from '../../test/support/stored-messages.js';

/**
 * The behaviour every `Store` implementation must have. Each implementation's test calls
 * `runContract` with a factory that returns a fresh, empty store.
 */
export function runContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let counter = 0;
    const id = (prefix: string) => `${prefix}_${(++counter).toString().padStart(6, '0')}`;

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const message = (
      role: NewMessage['role'],
      content: NewMessage['content'],
      tokens = 5,
    ): NewMessage => ({
      id: id('msg'),
      role,
      content,
      tokens,
      incomplete: false,
    });

    const firstTurn = (conversationId: string, principal: string, at: number): TurnRecord => ({
      conversationId,
      principal,
      create: { title: `title of ${conversationId}` },
      model: 'model-a',
      messages: [message('user', 'hello'), message('assistant', 'hi there')],
      at,
    });

    it('creates a conversation with its first turn and reads it back', async () => {
      expect(await store.conversations.messageCount('alice', 'conv_a')).toBeUndefined();
      expect(await store.conversations.appendTurn(firstTurn('conv_a', 'alice', 1000))).toBe(true);
      expect(await store.conversations.messageCount('alice', 'conv_a')).toBe(2);
      expect(await store.conversations.messageCount('bob', 'conv_a')).toBeUndefined();
      const conversation = await store.conversations.getConversation('alice', 'conv_a');
      expect(conversation).toMatchObject({
        id: 'conv_a',
        principal: 'alice',
        title: 'title of conv_a',
        model: 'model-a',
        createdAt: 1000,
        updatedAt: 1000,
        messageCount: 2,
        systemPrompt: undefined,
      });
      const messages = await allMessages(store.conversations, 'alice', 'conv_a');
      expect(messages?.map((m) => [m.seq, m.role, m.content, m.incomplete])).toEqual([
        [1, 'user', 'hello', false],
        [2, 'assistant', 'hi there', false],
      ]);
    });

    it('appends later turns in order and updates the system prompt and model', async () => {
      await store.conversations.appendTurn(firstTurn('conv_b', 'alice', 1000));
      const appended = await store.conversations.appendTurn({
        conversationId: 'conv_b',
        principal: 'alice',
        systemPrompt: 'be brief',
        model: 'model-b',
        messages: [
          message('user', [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ]),
          { ...message('assistant', 'partial'), incomplete: true },
        ],
        at: 2000,
      });
      expect(appended).toBe(true);
      const conversation = await store.conversations.getConversation('alice', 'conv_b');
      expect(conversation).toMatchObject({
        systemPrompt: 'be brief',
        model: 'model-b',
        updatedAt: 2000,
        messageCount: 4,
      });
      const messages = (await allMessages(store.conversations, 'alice', 'conv_b'))!;
      expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      expect(messages[2]!.content).toEqual([
        { type: 'text', text: 'look' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
      ]);
      expect(messages[3]!.incomplete).toBe(true);
    });

    it('pages messages newest page first, each page oldest first', async () => {
      await store.conversations.appendTurn(firstTurn('conv_p', 'alice', 1000));
      for (let turn = 2; turn <= 3; turn++) {
        await store.conversations.appendTurn({
          conversationId: 'conv_p',
          principal: 'alice',
          model: 'model-a',
          messages: [message('user', `q${turn}`), message('assistant', `a${turn}`)],
          at: 1000 * turn,
        });
      }
      const page = (limit: number, beforeSeq?: number) =>
        store.conversations.messagePage('alice', 'conv_p', { limit, beforeSeq });
      const seqs = (result: Awaited<ReturnType<typeof page>>) => ({
        seqs: result?.messages.map((m) => m.seq),
        hasMore: result?.hasMore,
      });
      expect(seqs(await page(4))).toEqual({ seqs: [3, 4, 5, 6], hasMore: true });
      expect(seqs(await page(4, 3))).toEqual({ seqs: [1, 2], hasMore: false });
      expect(seqs(await page(6))).toEqual({ seqs: [1, 2, 3, 4, 5, 6], hasMore: false });
      expect(seqs(await page(2, 2))).toEqual({ seqs: [1], hasMore: false });
      expect(seqs(await page(2, 1))).toEqual({ seqs: [], hasMore: false });
      expect((await page(1))?.messages[0]?.content).toBe('a3');
      expect(await store.conversations.messagePage('bob', 'conv_p', { limit: 5 })).toBeUndefined();
      expect(
        await store.conversations.messagePage('alice', 'conv_none', { limit: 5 }),
      ).toBeUndefined();
    });

    it("hides another principal's conversation as if it did not exist", async () => {
      await store.conversations.appendTurn(firstTurn('conv_c', 'alice', 1000));
      expect(await store.conversations.getConversation('bob', 'conv_c')).toBeUndefined();
      expect(await allMessages(store.conversations, 'bob', 'conv_c')).toBeUndefined();
      expect(await store.conversations.loadContext('bob', 'conv_c', 1000)).toBeUndefined();
      expect(await store.conversations.renameConversation('bob', 'conv_c', 'x', 5)).toBeUndefined();
      expect(await store.conversations.deleteConversation('bob', 'conv_c')).toBe(false);
      expect((await store.conversations.listConversations('bob', { limit: 10 })).items).toEqual([]);
      const appended = await store.conversations.appendTurn({
        ...firstTurn('conv_c', 'bob', 2000),
        create: undefined,
      });
      expect(appended).toBe(false);
      expect((await store.conversations.getConversation('alice', 'conv_c'))!.messageCount).toBe(2);
    });

    it('refuses a turn for a conversation deleted meanwhile, writing nothing', async () => {
      await store.conversations.appendTurn(firstTurn('conv_d', 'alice', 1000));
      expect(await store.conversations.deleteConversation('alice', 'conv_d')).toBe(true);
      const appended = await store.conversations.appendTurn({
        ...firstTurn('conv_d', 'alice', 2000),
        create: undefined,
      });
      expect(appended).toBe(false);
      expect(await store.conversations.getConversation('alice', 'conv_d')).toBeUndefined();
      expect(await allMessages(store.conversations, 'alice', 'conv_d')).toBeUndefined();
    });

    it('writes a turn all or nothing', async () => {
      await store.conversations.appendTurn(firstTurn('conv_e', 'alice', 1000));
      const duplicate = message('user', 'again');
      await expect(
        store.conversations.appendTurn({
          conversationId: 'conv_e',
          principal: 'alice',
          model: 'model-a',
          messages: [duplicate, { ...message('assistant', 'x'), id: duplicate.id }],
          at: 3000,
        }),
      ).rejects.toThrow();
      const conversation = await store.conversations.getConversation('alice', 'conv_e');
      expect(conversation).toMatchObject({ messageCount: 2, updatedAt: 1000 });
      expect(await allMessages(store.conversations, 'alice', 'conv_e')).toHaveLength(2);
    });

    it('loads the newest messages that fit a token budget', async () => {
      await store.conversations.appendTurn(firstTurn('conv_f', 'alice', 1000));
      for (let turn = 0; turn < 4; turn++) {
        await store.conversations.appendTurn({
          conversationId: 'conv_f',
          principal: 'alice',
          model: 'model-a',
          messages: [message('user', `q${turn}`, 10), message('assistant', `a${turn}`, 10)],
          at: 2000 + turn,
        });
      }
      const context = (await store.conversations.loadContext('alice', 'conv_f', 35))!;
      expect(context.messages.map((m) => m.content)).toEqual(['a2', 'q3', 'a3']);
      expect(context.olderCount).toBe(7);
      const all = (await store.conversations.loadContext('alice', 'conv_f', 10_000))!;
      expect(all.messages).toHaveLength(10);
      expect(all.olderCount).toBe(0);
      const none = (await store.conversations.loadContext('alice', 'conv_f', 1))!;
      expect(none.messages).toEqual([]);
      expect(none.olderCount).toBe(10);
    });

    it('lists conversations newest first, page by page', async () => {
      for (let index = 0; index < 5; index++) {
        await store.conversations.appendTurn(firstTurn(`conv_p${index}`, 'carol', 1000 + index));
      }
      // Same timestamp: the id breaks the tie, so paging never skips or repeats.
      await store.conversations.appendTurn(firstTurn('conv_p9', 'carol', 1004));
      await store.conversations.appendTurn(firstTurn('conv_other', 'dave', 5000));
      const first = await store.conversations.listConversations('carol', { limit: 4 });
      expect(first.items.map((c) => c.id)).toEqual(['conv_p9', 'conv_p4', 'conv_p3', 'conv_p2']);
      expect(first.hasMore).toBe(true);
      const last = first.items.at(-1)!;
      const second = await store.conversations.listConversations('carol', {
        limit: 4,
        after: { updatedAt: last.updatedAt, id: last.id },
      });
      expect(second.items.map((c) => c.id)).toEqual(['conv_p1', 'conv_p0']);
      expect(second.hasMore).toBe(false);
    });

    it('renames and deletes', async () => {
      await store.conversations.appendTurn(firstTurn('conv_r', 'alice', 1000));
      const renamed = await store.conversations.renameConversation(
        'alice',
        'conv_r',
        'New name',
        4000,
      );
      expect(renamed).toMatchObject({ title: 'New name', updatedAt: 4000 });
      expect(await store.conversations.deleteConversation('alice', 'conv_r')).toBe(true);
      expect(await store.conversations.deleteConversation('alice', 'conv_r')).toBe(false);
      expect(
        await store.conversations.renameConversation('alice', 'conv_r', 'x', 5000),
      ).toBeUndefined();
    });

    it('stores tokens by id and creates the bootstrap token only once', async () => {
      const token = (admin: boolean): TokenRecord => ({
        id: id('tok'),
        principal: admin ? 'admin' : 'user',
        secretHash: randomBytes(32),
        admin,
        createdAt: 1000,
        expiresAt: admin ? undefined : 9000,
      });
      const user = token(false);
      await store.tokens.insertToken(user);
      expect(await store.tokens.findToken(user.id)).toEqual(user);
      expect(await store.tokens.findToken('missing')).toBeUndefined();
      const bootstrap = token(true);
      expect(await store.tokens.insertBootstrapToken(bootstrap)).toBe(true);
      expect(await store.tokens.insertBootstrapToken(token(true))).toBe(false);
      expect(await store.tokens.findToken(bootstrap.id)).toEqual(bootstrap);
    });

    it('records revocations once and answers whether a token is revoked', async () => {
      // Where a store answers at once, it answers as isRevoked does.
      const now = (id: string) => store.tokens.isRevokedNow?.(id);
      expect(await store.tokens.isRevoked('jti-1')).toBe(false);
      expect(now('jti-1')).not.toBe(true);
      expect(await store.tokens.revoke({ id: 'jti-1', revokedAt: 10, expiresAt: 99 })).toBe(true);
      expect(await store.tokens.revoke({ id: 'jti-1', revokedAt: 11, expiresAt: 99 })).toBe(false);
      expect(await store.tokens.isRevoked('jti-1')).toBe(true);
      expect(now('jti-1')).not.toBe(false);
      expect(await store.tokens.isRevoked('jti-2')).toBe(false);
      expect(now('jti-2')).not.toBe(true);
    });

    it('lists issued JWTs and opaque tokens newest first, with revocations, paged', async () => {
      const jwt = (jti: string, createdAt: number, expiresAt: number) => ({
        id: jti,
        principal: `p-${jti}`,
        groups: ['dev', 'ops'],
        kid: 'kid-1',
        issuedBy: jti === 'jwt-b' ? 'admin@example.com' : undefined,
        createdAt,
        expiresAt,
      });
      await store.tokens.recordIssued(jwt('jwt-a', 1000, 5000));
      await store.tokens.recordIssued(jwt('jwt-b', 3000, 9000));
      await store.tokens.recordIssued(jwt('jwt-c', 3000, 9000));
      await store.tokens.insertToken({
        id: 'opq-1',
        principal: 'root',
        secretHash: randomBytes(32),
        admin: true,
        createdAt: 2000,
        expiresAt: undefined,
      });
      await expect(store.tokens.recordIssued(jwt('jwt-a', 1, 2))).rejects.toThrow();
      expect(await store.tokens.issuedToken('jwt-a')).toEqual({
        principal: 'p-jwt-a',
        groups: ['dev', 'ops'],
      });
      expect(await store.tokens.issuedToken('opq-1')).toEqual({
        principal: 'root',
        groups: ['admin'],
      });
      expect(await store.tokens.issuedToken('never-issued')).toBeUndefined();
      await store.tokens.revoke({ id: 'jwt-c', revokedAt: 4000, expiresAt: 9000 });

      const all = await store.tokens.listTokens({ now: 6000, includeExpired: true, limit: 10 });
      expect(all.map((token) => token.id)).toEqual(['jwt-c', 'jwt-b', 'opq-1', 'jwt-a']);
      expect(all[0]).toEqual({
        id: 'jwt-c',
        type: 'jwt',
        principal: 'p-jwt-c',
        groups: ['dev', 'ops'],
        kid: 'kid-1',
        issuedBy: undefined,
        createdAt: 3000,
        expiresAt: 9000,
        revokedAt: 4000,
      });
      expect(all[1]?.issuedBy).toBe('admin@example.com');
      expect(all[2]).toMatchObject({ type: 'opaque', groups: ['admin'], kid: undefined });
      expect(all[2]?.expiresAt).toBeUndefined();

      // jwt-a expired at 5000: hidden unless asked for.
      const live = await store.tokens.listTokens({ now: 6000, includeExpired: false, limit: 10 });
      expect(live.map((token) => token.id)).toEqual(['jwt-c', 'jwt-b', 'opq-1']);

      // Two rows share created_at 3000: the cursor (time, id) still splits them exactly.
      const first = await store.tokens.listTokens({ now: 0, includeExpired: true, limit: 1 });
      const next = await store.tokens.listTokens({
        now: 0,
        includeExpired: true,
        limit: 2,
        before: { createdAt: first[0]!.createdAt, id: first[0]!.id },
      });
      expect([...first, ...next].map((token) => token.id)).toEqual(['jwt-c', 'jwt-b', 'opq-1']);
    });

    it('keeps signing keys and rotates them once when two rotations race', async () => {
      const key = (kid: string, createdAt: number): SigningKeyRecord => ({
        kid,
        publicKeyPem: `public ${kid}`,
        privateKeySealed: `sealed ${kid}`,
        source: 'generated',
        createdAt,
        signsUntil: createdAt + 1000,
        verifiesUntil: undefined,
        retiredAt: undefined,
      });
      expect(await store.signingKeys.rotate(undefined, key('k1', 100), 100, 0)).toBe(true);
      expect(await store.signingKeys.rotate(undefined, key('k1b', 100), 100, 0)).toBe(false);
      expect(await store.signingKeys.rotate('k1', key('k2', 200), 200, 900)).toBe(true);
      expect(await store.signingKeys.rotate('k1', key('k3', 200), 200, 900)).toBe(false);
      await store.signingKeys.insert({
        ...key('ext', 150),
        privateKeySealed: undefined,
        source: 'imported',
        signsUntil: undefined,
      });
      const keys = await store.signingKeys.list();
      expect(keys.map((k) => k.kid)).toEqual(['k1', 'ext', 'k2']);
      expect(keys[0]).toMatchObject({ signsUntil: 200, verifiesUntil: 900 });
      expect(keys[1]).toMatchObject({ privateKeySealed: undefined, signsUntil: undefined });
      expect(keys[2]).toMatchObject({ signsUntil: 1200, verifiesUntil: undefined });
      expect(await store.signingKeys.retire('k1', 950)).toBe(true);
      expect(await store.signingKeys.retire('k1', 960)).toBe(false);
      expect((await store.signingKeys.list())[0]!.retiredAt).toBe(950);
    });

    it('answers the readiness check', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}
