import { randomBytes } from 'node:crypto';
import type { ToolCallDelta } from '../types.js';

/** An id for a call the endpoint sent without one: the client needs it to answer the call. */
export function newToolCallId(): string {
  return `call_${randomBytes(12).toString('base64url')}`;
}

/** A streamed call's piece as the endpoint sent it: its index may be missing. */
export interface RawToolCallDelta {
  index: number | undefined;
  id: string | undefined;
  name: string | undefined;
  arguments: string;
}

/**
 * Numbers the pieces of streamed tool calls and gives every call an id, as OpenAI's clients
 * expect them: the first piece of call N carries its id and name, later ones only `index` N.
 *
 * Some endpoints leave `index` out and send each call whole in one piece: a piece without an
 * index starts a new call when its id differs from the current call's, and continues the current
 * call otherwise (numbering them all 0 made clients join two calls into one, with their
 * arguments run together). A call's first piece without an id gets one.
 */
export class ToolCallNumbering {
  private readonly ids = new Map<number, string>();
  private readonly named = new Set<number>();
  private current: number | undefined;
  /** The number a new call without an index gets: one past the highest yet. */
  private next = 0;

  /** Calls numbered so far. */
  get calls(): number {
    return this.ids.size;
  }

  number(raw: RawToolCallDelta): ToolCallDelta {
    let index = raw.index;
    if (index === undefined) {
      const currentId = this.current === undefined ? undefined : this.ids.get(this.current);
      const startsCall =
        this.current === undefined || (raw.id !== undefined && raw.id !== currentId);
      index = startsCall ? this.next : this.current!;
    }
    this.current = index;
    this.next = Math.max(this.next, index + 1);
    let id: string | undefined;
    if (!this.ids.has(index)) {
      id = raw.id ?? newToolCallId();
      this.ids.set(index, id);
    }
    // Later pieces repeat nothing of the call's head (some endpoints send it with every piece,
    // and clients that join pieces would double it); a name that comes after the id still goes.
    let name: string | undefined;
    if (raw.name !== undefined && !this.named.has(index)) {
      name = raw.name;
      this.named.add(index);
    }
    return { type: 'tool-call-delta', index, id, name, arguments: raw.arguments };
  }
}
