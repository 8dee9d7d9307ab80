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

/** A call as numbered here: its upstream id (if it sent one) and whether its name was sent. */
interface Call {
  upstreamId: string | undefined;
  named: boolean;
}

/**
 * Numbers the pieces of streamed tool calls and gives every call an id, as OpenAI's clients
 * expect them: calls numbered 0, 1, 2… in the order they begin, the first piece of each with its
 * id and name, later ones with only its index (the openai client failed on a stream whose first
 * call was not 0, and joined calls that shared a number).
 *
 * An endpoint's own index maps to a number of ours; a new id at an index already used starts a
 * new call. Some endpoints leave `index` out: such a piece continues the call of its id when one
 * has it, starts a new call when it brings another id than the current call's, or a name when
 * the current call has one, and continues the current call otherwise (an id that arrives after
 * the call began without one is taken as the current call's). A call's head (id, name) is sent
 * once; a call whose first piece had no id gets one.
 */
export class ToolCallNumbering {
  private readonly calls: Call[] = [];
  private readonly byIndex = new Map<number, number>();
  private readonly byId = new Map<string, number>();
  private current: number | undefined;

  /** Calls numbered so far. */
  get count(): number {
    return this.calls.length;
  }

  /** Whether a call never got its name (the answer is then malformed, as one sent whole is). */
  get unnamed(): boolean {
    return this.calls.some((call) => !call.named);
  }

  number(raw: RawToolCallDelta): ToolCallDelta {
    let ours = raw.index === undefined ? this.unindexed(raw) : this.indexed(raw.index, raw.id);
    let id: string | undefined;
    if (ours === undefined) {
      ours = this.calls.length;
      this.calls.push({ upstreamId: raw.id, named: false });
      id = raw.id ?? newToolCallId();
      if (raw.index !== undefined) this.byIndex.set(raw.index, ours);
    }
    const call = this.calls[ours]!;
    if (raw.id !== undefined && call.upstreamId === undefined) call.upstreamId = raw.id;
    if (call.upstreamId !== undefined) this.byId.set(call.upstreamId, ours);
    this.current = ours;
    let name: string | undefined;
    if (raw.name !== undefined && !call.named) {
      name = raw.name;
      call.named = true;
    }
    return { type: 'tool-call-delta', index: ours, id, name, arguments: raw.arguments };
  }

  /** The call an indexed piece belongs to; undefined: it begins one. */
  private indexed(index: number, id: string | undefined): number | undefined {
    const ours = this.byIndex.get(index);
    if (ours === undefined) return undefined;
    const known = this.calls[ours]!.upstreamId;
    return id !== undefined && known !== undefined && id !== known ? undefined : ours;
  }

  /** The call a piece without an index belongs to; undefined: it begins one. */
  private unindexed(raw: RawToolCallDelta): number | undefined {
    if (raw.id !== undefined) {
      const byId = this.byId.get(raw.id);
      if (byId !== undefined) return byId;
    }
    if (this.current === undefined) return undefined;
    const call = this.calls[this.current]!;
    if (raw.id !== undefined && call.upstreamId !== undefined) return undefined;
    if (raw.name !== undefined && call.named) return undefined;
    return this.current;
  }
}
