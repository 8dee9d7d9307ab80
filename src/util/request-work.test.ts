import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../errors.js';
import { Pool } from '../net/undici.js';
import { RequestWork } from './request-work.js';

describe('RequestWork', () => {
  it('aborts once: sets the reason, calls onabort and each listener one time', () => {
    const work = new RequestWork();
    const listener = vi.fn();
    const onabort = vi.fn();
    work.signal.addEventListener('abort', listener);
    work.onabort = onabort;
    expect(work.signal.aborted).toBe(false);
    expect(() => work.signal.throwIfAborted()).not.toThrow();

    const reason = new AppError('client_closed_request');
    work.abort(reason);
    work.abort(new AppError('shutting_down'));
    expect(work.signal.aborted).toBe(true);
    expect(work.signal.reason).toBe(reason);
    expect(listener).toHaveBeenCalledTimes(1);
    expect((listener.mock.calls[0]![0] as Event).type).toBe('abort');
    expect(onabort).toHaveBeenCalledTimes(1);
    expect(() => work.signal.throwIfAborted()).toThrow(reason);
  });

  it('defaults the reason to an AbortError, as AbortController does', () => {
    const work = new RequestWork();
    work.abort();
    expect(work.signal.reason).toBeInstanceOf(DOMException);
    expect((work.signal.reason as DOMException).name).toBe('AbortError');
  });

  it('cancels a timers/promises wait (the retry backoff)', async () => {
    const work = new RequestWork();
    const waiting = sleep(60_000, undefined, { signal: work.signal });
    const reason = new AppError('client_closed_request');
    work.abort(reason);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError', cause: reason });
  });

  describe('with undici', () => {
    let server: Server;
    let closed: Promise<void>;
    let url: string;
    beforeAll(async () => {
      let onClosed!: () => void;
      closed = new Promise((resolve) => (onClosed = resolve));
      // Never answers; notes when the caller gives up on the connection.
      server = createServer((request) => request.socket.once('close', onClosed));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('aborts a request in flight with the reason given', async () => {
      const pool = new Pool(url);
      const work = new RequestWork();
      const pending = pool.request({ method: 'GET', path: '/', signal: work.signal });
      await sleep(50);
      const reason = new AppError('client_closed_request');
      work.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await closed;
      await pool.close();
    });
  });
});
