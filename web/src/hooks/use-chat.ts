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

export type SendSettings = Pick<ChatTurnRequest, 'model' | 'temperature'>;

/** What `send` did: the turn ran (whatever its end), or it failed before anything was stored. */
export type SendResult = 'sent' | 'refused';

export interface ChatState {
  conversationId: string | undefined;
  messages: ChatMessageView[];
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
  /** Resolves with the conversation, for the caller to pick its model; undefined on failure. */
  open: (id: string) => Promise<ConversationDetail | undefined>;
  startNew: () => void;
  /** `imageNames` label the content's images in the transcript (their file names). */
  send: (
    content: string | ContentPart[],
    settings: SendSettings,
    imageNames?: readonly string[],
  ) => Promise<SendResult>;
  stop: () => void;
  dismissError: () => void;
}

export interface ChatOptions {
  /** A turn ended (stored, stopped or failed): the conversation list is out of date. */
  onTurnSettled: (conversationId: string | undefined, state: MessageState) => void;
}

let nextLocalKey = 0;
function localKey(prefix: string): string {
  nextLocalKey += 1;
  return `${prefix}-${nextLocalKey}`;
}

export function useChat(api: ApiClient, options: ChatOptions): ChatState {
  const [conversationId, setConversationId] = useState<string | undefined>(undefined);
  const [messages, setMessages] = useState<ChatMessageView[]>([]);
  const [generating, setGenerating] = useState(false);
  const [loading, setLoading] = useState(false);
  // The cursor of the page before the oldest message shown; null when it is the first.
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');

  const abortRef = useRef<AbortController | undefined>(undefined);
  // Which open() is current: a slower earlier one must not overwrite a later choice.
  const openSeq = useRef(0);
  // Streamed text waits here and reaches the page at most once per animation frame.
  const pending = useRef<{ key: string; text: string } | undefined>(undefined);
  const frame = useRef<number | undefined>(undefined);
  const onTurnSettled = useRef(options.onTurnSettled);
  onTurnSettled.current = options.onTurnSettled;

  const updateMessage = useCallback((key: string, change: Partial<ChatMessageView>) => {
    setMessages((old) =>
      old.map((message) => (message.key === key ? { ...message, ...change } : message)),
    );
  }, []);

  const flush = useCallback(() => {
    if (frame.current !== undefined) window.cancelAnimationFrame(frame.current);
    frame.current = undefined;
    const text = pending.current;
    if (text !== undefined) updateMessage(text.key, { content: text.text });
  }, [updateMessage]);

  const scheduleFlush = useCallback(() => {
    frame.current ??= window.requestAnimationFrame(() => {
      frame.current = undefined;
      flush();
    });
  }, [flush]);

  const stop = useCallback(() => abortRef.current?.abort(), []);

  // Leaving the page (sign-out, session end) stops a running answer.
  useEffect(() => () => abortRef.current?.abort(), []);

  const open = useCallback(
    async (id: string) => {
      stop();
      const seq = ++openSeq.current;
      setLoading(true);
      setError(undefined);
      setConversationId(id);
      setMessages([]);
      setOlderCursor(null);
      setLoadingOlder(false);
      try {
        const conversation = await getConversation(api, id);
        if (seq !== openSeq.current) return undefined;
        setMessages(viewsOf(conversation.messages));
        setOlderCursor(conversation.next_cursor);
        setStatus(`Opened “${conversation.title}”.`);
        return conversation;
      } catch (failure) {
        if (seq === openSeq.current && failure instanceof ApiError && failure.status !== 401) {
          setError(describeError(failure));
        }
        return undefined;
      } finally {
        if (seq === openSeq.current) setLoading(false);
      }
    },
    [api, stop],
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
  }, [api, conversationId, olderCursor]);

  const startNew = useCallback(() => {
    stop();
    openSeq.current++;
    setLoading(false);
    setLoadingOlder(false);
    setOlderCursor(null);
    setConversationId(undefined);
    setMessages([]);
    setError(undefined);
    setStatus('New chat.');
  }, [stop]);

  const send = useCallback(
    async (
      content: string | ContentPart[],
      settings: SendSettings,
      imageNames: readonly string[] = [],
    ): Promise<SendResult> => {
      const controller = new AbortController();
      abortRef.current = controller;
      const userKey = localKey('user');
      const answerKey = localKey('answer');
      let started = false;
      let turnConversation = conversationId;
      let state: MessageState = 'streaming';
      let note: string | undefined;
      const answer = { key: answerKey, text: '' };
      pending.current = answer;
      setError(undefined);
      setGenerating(true);
      setStatus('Sending…');
      const shown = contentView(content, imageNames);
      setMessages((old) => [
        ...old,
        { key: userKey, role: 'user', content: shown.text, images: shown.images, state: 'done' },
        { key: answerKey, role: 'assistant', content: '', state: 'streaming' },
      ]);
      try {
        for await (const part of streamChat(
          api,
          { content, conversationId, ...settings },
          controller.signal,
        )) {
          if (part.type === 'start') {
            started = true;
            turnConversation = part.conversationId;
            setConversationId(part.conversationId);
            setStatus('Generating the answer…');
          } else if (part.type === 'text-delta') {
            answer.text += part.text;
            scheduleFlush();
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
          flush();
          pending.current = undefined;
          setMessages((old) =>
            old.filter((message) => message.key !== userKey && message.key !== answerKey),
          );
          setGenerating(false);
          const text = failure instanceof ApiError ? describeError(failure) : String(failure);
          if (!(failure instanceof ApiError && failure.status === 401)) setError(text);
          setStatus(text);
          if (abortRef.current === controller) abortRef.current = undefined;
          return 'refused';
        } else {
          state = 'error';
          note = failure instanceof ApiError ? describeError(failure) : String(failure);
        }
      }
      flush();
      pending.current = undefined;
      updateMessage(answerKey, { state, note });
      if (state === 'error' && note !== undefined) setError(note);
      setStatus(
        state === 'done'
          ? 'Answer complete.'
          : state === 'stopped'
            ? 'Answer stopped.'
            : `Error: ${note ?? ''}`,
      );
      setGenerating(false);
      if (abortRef.current === controller) abortRef.current = undefined;
      onTurnSettled.current(turnConversation, state);
      return 'sent';
    },
    [api, conversationId, flush, scheduleFlush, updateMessage],
  );

  const dismissError = useCallback(() => setError(undefined), []);

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
    dismissError,
  };
}
