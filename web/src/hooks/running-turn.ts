import type { ChatMessageView } from '../messages';

/**
 * An answer being written. It belongs to its conversation, not to what the page shows: opening
 * another conversation (or a new chat) lets it finish in the background, and coming back shows it
 * still streaming, or stored once it is done.
 */
export interface RunningTurn {
  controller: AbortController;
  /**
   * The view it is shown in: its conversation's id, or, until the server names a new
   * conversation, the key of the new chat it was sent from.
   */
  viewKey: string;
  /** The user's message as shown. */
  user: ChatMessageView;
  /** The answer's key in the transcript. */
  answerKey: string;
  /** The answer so far. */
  text: string;
}

/** The transcript entries of turns still running in `viewKey`, to show after the stored ones. */
export function runningViews(turns: Iterable<RunningTurn>, viewKey: string): ChatMessageView[] {
  const views: ChatMessageView[] = [];
  for (const turn of turns) {
    if (turn.viewKey !== viewKey) continue;
    views.push(turn.user, {
      key: turn.answerKey,
      role: 'assistant',
      content: turn.text,
      state: 'streaming',
    });
  }
  return views;
}

/** The answers (key → text so far) of turns shown in `viewKey`, for the next frame's update. */
export function shownAnswers(turns: Iterable<RunningTurn>, viewKey: string): Map<string, string> {
  const answers = new Map<string, string>();
  for (const turn of turns) if (turn.viewKey === viewKey) answers.set(turn.answerKey, turn.text);
  return answers;
}
