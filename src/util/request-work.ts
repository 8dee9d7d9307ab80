/**
 * One request's abort handle, which is also the signal its work is given (`signal` is the object
 * itself): aborted when the client leaves or the server cuts the request (http/lifecycle.ts).
 *
 * Not Node's `AbortController`: on Node 20 every `AbortSignal` it makes survives the young
 * generation and is promoted, about 400 bytes each even when nothing refers to it, and then costs
 * a full mark-compact to collect (`npm run bench:signal` measures it against this class). One per
 * request filled the old generation under load: a full collection every few seconds, and each
 * stalled the requests of its moment. An `EventTarget` of our own dies young.
 *
 * Everything a request's work hands the signal to reads it through the `AbortSignal` interface
 * (undici, `timers/promises`, the local engine's slot queue). It is not one of Node's own signals,
 * which `AbortSignal.any()` and `fetch()` check for: give those a real one.
 */
export class RequestWork extends EventTarget implements AbortSignal {
  onabort: ((this: AbortSignal, event: Event) => unknown) | null = null;
  #aborted = false;
  #reason: unknown = undefined;

  get signal(): AbortSignal {
    return this;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts once; later calls change nothing. Listeners get an `abort` event. */
  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const event = new Event('abort');
    this.onabort?.call(this, event);
    this.dispatchEvent(event);
  }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }
}
