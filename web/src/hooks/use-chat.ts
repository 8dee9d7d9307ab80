import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, isAbortError } from '../api/api-error';
import { type ChatTurnRequest, streamChat } from '../api/chat-stream';
import type { ApiClient } from '../api/client';
import { getConversation } from '../api/conversations';
import type { ContentPart, ConversationDetail } from '../api/types';
import { describeError } from '../error-text';
import {
  type ChatMessageView,
  type MessageState,
  contentView,
  finishNote,
  viewsOf,
} from '../messages';
import { type RunningTurn, runningViews, shownAnswers } from './running-turn';

export type SendSettings = Pick<ChatTurnRequest, 'model' | 'temperature'>;

/** What `send` did: the turn ran (whatever its end), or it failed before anything was stored. */
export type SendResult = 'sent' | 'refused';

/** What `open` found: the conversation, none by that id (for this principal), or a failure. */
export type OpenResult = ConversationDetail | 'not-found' | undefined;

export interface ChatState {
  conversationId: string | undefined;
  messages: ChatMessageView[];
  /** An answer is being written in the conversation shown. */
  generating: boolean;
  loading: boolean;
  /** Older messages of the open conversation can be loaded (`loadOlder`). */
  hasOlder: boolean;
  loadingOlder: boolean;
  /** Prepends the page of messages before the oldest one shown. */
  loadOlder: () => Promise<void>;
  /** The chat error area's text. */
  error: string | undefined;
  /** The screen-reader status line ("Generating…", "Answer complete"). */
  status: string;
  /**
   * Shows a conversation; an answer being written elsewhere goes on. Resolves with the
   * conversation, for the caller to pick its model; 'not-found' (no error shown) when there is
   * none by that id for this principal; undefined on another failure.
   */
  open: (id: string) => Promise<OpenResult>;
  /** Shows a new, empty chat; an answer being written elsewhere goes on. */
  startNew: () => void;
  /** `imageNames` label the content's images in the transcript (their file names). */
  send: (
    content: string | ContentPart[],
    settings: SendSettings,
    imageNames?: readonly string[],
  ) => Promise<SendResult>;
  /** Stops the answer being written in the conversation shown. */
  stop: () => void;
  /** Stops any answer being written in a conversation (deleted). */
  stopIn: (conversationId: string) => void;
  dismissError: () => void;
}

export interface ChatOptions {
  /** A turn ended (stored, stopped or failed): the conversation list is out of date. */
  onTurnSettled: (conversationId: string | undefined, state: MessageState) => void;
  /**
   * The server named the conversation a turn sent from a new chat started; `shown` says whether
   * the page still shows it (it is the open conversation now).
   */
  onConversationStarted?: (conversationId: string, shown: boolean) => void;
}

let nextLocalKey = 0;
function localKey(prefix: string): string {
  nextLocalKey += 1;
  return `${prefix}-${nextLocalKey}`;
}

export function useChat(api: ApiClient, options: ChatOptions): ChatState {
  // What is shown: a conversation's id, or a new chat's local key.
  const [viewKey, setViewKey] = useState(() => localKey('new'));
  const viewRef = useRef(viewKey);
  const [conversationId, setConversationId] = useState<string | undefined>(undefined);
  const [messages, setMessagesState] = useState<ChatMessageView[]>([]);
  // The transcript as of now, for checks made between awaits (state updates land later).
  const messagesRef = useRef<ChatMessageView[]>([]);
  const [loading, setLoading] = useState(false);
  // The cursor of the page before the oldest message shown; null when it is the first.
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');

  const turns = useRef(new Set<RunningTurn>());
  // Bumped when a turn starts, is named or ends: `generating` is read off `turns`.
  const [, setTurnsChanged] = useState(0);
  const turnsChanged = useCallback(() => setTurnsChanged((count) => count + 1), []);
  // Which open() is current: a slower earlier one must not overwrite a later choice.
  const openSeq = useRef(0);
  // Streamed text reaches the page at most once per animation frame.
  const frame = useRef<number | undefined>(undefined);
  const callbacks = useRef(options);
  callbacks.current = options;

  const setMessages = useCallback((update: (old: ChatMessageView[]) => ChatMessageView[]) => {
    messagesRef.current = update(messagesRef.current);
    setMessagesState(messagesRef.current);
  }, []);

  const show = useCallback((key: string, id: string | undefined) => {
    viewRef.current = key;
    setViewKey(key);
    setConversationId(id);
  }, []);

  const updateMessage = useCallback(
    (key: string, change: Partial<ChatMessageView>) => {
      setMessages((old) =>
        old.map((message) => (message.key === key ? { ...message, ...change } : message)),
      );
    },
    [setMessages],
  );

  const flush = useCallback(() => {
    if (frame.current !== undefined) window.cancelAnimationFrame(frame.current);
    frame.current = undefined;
    const answers = shownAnswers(turns.current, viewRef.current);
    if (answers.size === 0) return;
    setMessages((old) =>
      old.map((message) => {
        const text = answers.get(message.key);
        return text === undefined || text === message.content
          ? message
          : { ...message, content: text };
      }),
    );
  }, [setMessages]);

  const scheduleFlush = useCallback(() => {
    frame.current ??= window.requestAnimationFrame(() => {
      frame.current = undefined;
      flush();
    });
  }, [flush]);

  const abortWhere = useCallback((matches: (turn: RunningTurn) => boolean) => {
    for (const turn of turns.current) if (matches(turn)) turn.controller.abort();
  }, []);
  const stop = useCallback(
    () => abortWhere((turn) => turn.viewKey === viewRef.current),
    [abortWhere],
  );
  const stopIn = useCallback(
    (id: string) => abortWhere((turn) => turn.viewKey === id),
    [abortWhere],
  );

  // Leaving the page (sign-out, session end) stops every running answer.
  useEffect(() => {
    const running = turns.current;
    return () => {
      for (const turn of running) turn.controller.abort();
    };
  }, []);

  const open = useCallback(
    async (id: string): Promise<OpenResult> => {
      flush();
      const seq = ++openSeq.current;
      show(id, id);
      setLoading(true);
      setError(undefined);
      setMessages(() => []);
      setOlderCursor(null);
      setLoadingOlder(false);
      try {
        const conversation = await getConversation(api, id);
        if (seq !== openSeq.current) return undefined;
        // Turns still being written are not stored yet: they follow the stored messages.
        setMessages(() => [...viewsOf(conversation.messages), ...runningViews(turns.current, id)]);
        setOlderCursor(conversation.next_cursor);
        setStatus(`Opened “${conversation.title}”.`);
        return conversation;
      } catch (failure) {
        if (seq !== openSeq.current || !(failure instanceof ApiError)) return undefined;
        // A new conversation is stored with its first answer: until then, only this page has it.
        const running = runningViews(turns.current, id);
        if (failure.status === 404 && running.length > 0) {
          setMessages(() => running);
          return undefined;
        }
        // Another principal's conversation is a 404 too; an id too long to be one, a 400.
        if (failure.status === 404 || failure.status === 400) return 'not-found';
        if (failure.status !== 401) setError(describeError(failure));
        return undefined;
      } finally {
        if (seq === openSeq.current) setLoading(false);
      }
    },
    [api, flush, setMessages, show],
  );

  const loadOlder = useCallback(async () => {
    if (conversationId === undefined || olderCursor === null) return;
    const seq = openSeq.current;
    setLoadingOlder(true);
    try {
      const page = await getConversation(api, conversationId, olderCursor);
      // Another conversation was opened (or a new chat started) meanwhile.
      if (seq !== openSeq.current) return;
      const older = viewsOf(page.messages);
      setMessages((shown) => [...older, ...shown]);
      setOlderCursor(page.next_cursor);
      setStatus(`Showing ${older.length} earlier messages.`);
    } catch (failure) {
      if (seq === openSeq.current && failure instanceof ApiError && failure.status !== 401) {
        setError(describeError(failure));
      }
    } finally {
      if (seq === openSeq.current) setLoadingOlder(false);
    }
  }, [api, conversationId, olderCursor, setMessages]);

  const startNew = useCallback(() => {
    flush();
    openSeq.current++;
    show(localKey('new'), undefined);
    setLoading(false);
    setLoadingOlder(false);
    setOlderCursor(null);
    setMessages(() => []);
    setError(undefined);
    setStatus('New chat.');
  }, [flush, setMessages, show]);

  const send = useCallback(
    async (
      content: string | ContentPart[],
      settings: SendSettings,
      imageNames: readonly string[] = [],
    ): Promise<SendResult> => {
      const shown = contentView(content, imageNames);
      const turn: RunningTurn = {
        controller: new AbortController(),
        viewKey: viewRef.current,
        user: {
          key: localKey('user'),
          role: 'user',
          content: shown.text,
          images: shown.images,
          state: 'done',
        },
        answerKey: localKey('answer'),
        text: '',
      };
      const inView = () => turn.viewKey === viewRef.current;
      let started = false;
      let turnConversation = conversationId;
      let state: MessageState = 'streaming';
      let note: string | undefined;
      turns.current.add(turn);
      turnsChanged();
      setError(undefined);
      setStatus('Sending…');
      setMessages((old) => [...old, ...runningViews([turn], turn.viewKey)]);
      try {
        for await (const part of streamChat(
          api,
          { content, conversationId, ...settings },
          turn.controller.signal,
        )) {
          if (part.type === 'start') {
            started = true;
            turnConversation = part.conversationId;
            const named = turn.viewKey !== part.conversationId;
            const shownNow = inView();
            turn.viewKey = part.conversationId;
            if (shownNow) {
              show(part.conversationId, part.conversationId);
              setStatus('Generating the answer…');
            }
            if (named) callbacks.current.onConversationStarted?.(part.conversationId, shownNow);
            turnsChanged();
          } else if (part.type === 'text-delta') {
            turn.text += part.text;
            if (inView()) scheduleFlush();
          } else if (part.type === 'finish') {
            state = 'done';
            note = finishNote(part.finishReason);
          } else {
            state = 'error';
            note = describeError(part.error);
          }
        }
      } catch (failure) {
        if (isAbortError(failure)) {
          state = 'stopped';
          note = 'Stopped.';
        } else if (!started) {
          // Nothing was stored: take the turn off the page so the draft can be sent again.
          turns.current.delete(turn);
          turnsChanged();
          const keys = new Set([turn.user.key, turn.answerKey]);
          setMessages((old) => old.filter((message) => !keys.has(message.key)));
          const text = failure instanceof ApiError ? describeError(failure) : String(failure);
          if (inView()) {
            if (!(failure instanceof ApiError && failure.status === 401)) setError(text);
            setStatus(text);
          }
          return 'refused';
        } else {
          state = 'error';
          note = failure instanceof ApiError ? describeError(failure) : String(failure);
        }
      }
      if (inView()) flush();
      turns.current.delete(turn);
      turnsChanged();
      if (inView()) {
        if (messagesRef.current.some((message) => message.key === turn.answerKey)) {
          updateMessage(turn.answerKey, { state, note, content: turn.text });
        } else if (turnConversation !== undefined) {
          // Opened again while the page was fetching it: the stored answer is there now.
          void open(turnConversation);
        }
        if (state === 'error' && note !== undefined) setError(note);
        setStatus(
          state === 'done'
            ? 'Answer complete.'
            : state === 'stopped'
              ? 'Answer stopped.'
              : `Error: ${note ?? ''}`,
        );
      }
      callbacks.current.onTurnSettled(turnConversation, state);
      return 'sent';
    },
    [
      api,
      conversationId,
      flush,
      open,
      scheduleFlush,
      setMessages,
      show,
      turnsChanged,
      updateMessage,
    ],
  );

  const dismissError = useCallback(() => setError(undefined), []);

  let generating = false;
  for (const turn of turns.current) if (turn.viewKey === viewKey) generating = true;

  return {
    conversationId,
    messages,
    generating,
    loading,
    hasOlder: olderCursor !== null,
    loadingOlder,
    loadOlder,
    error,
    status,
    open,
    startNew,
    send,
    stop,
    stopIn,
    dismissError,
  };
}
