/**
 * The shapes the console reads from the server. The server is the same build, so these are
 * checked only where a wrong shape would break the page (the session, SSE events).
 */

/** `GET`/`POST /console/session`: who is signed in. The token itself stays in an HttpOnly cookie. */
export interface Session {
  principal: string;
  groups: string[];
  admin: boolean;
  /** Sent as `x-csrf-token` on every request that is not a GET. */
  csrf_token: string;
  expires_at: number | string | null;
}

/** One entry of `GET /v1/models`. */
export interface ModelInfo {
  id: string;
  owned_by?: string;
  /** False while the model cannot serve (loading, misconfigured). */
  available?: boolean;
  /** True for the model a request without `model` gets. */
  default?: boolean;
  description?: string;
  /** What the model takes besides text; absent from servers older than the field. */
  capabilities?: { images?: boolean };
}

/** One entry of `GET /v1/conversations`; times are seconds since the epoch. */
export interface ConversationSummary {
  id: string;
  title: string;
  model: string;
  created_at: number;
  updated_at: number;
  message_count: number;
}

export interface ConversationPage {
  data: ConversationSummary[];
  has_more: boolean;
  /** Opaque; passed back as `after` for the next page. */
  next_cursor: string | null;
}

export type ContentPart =
  { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface StoredMessage {
  id: string;
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
  created_at: number;
  /** True for an answer cut short (stopped, disconnected, failed midway). */
  incomplete: boolean;
}

/** `GET /v1/conversations/:id`. */
export interface ConversationDetail extends ConversationSummary {
  system_prompt: string | null;
  /** One page of messages, oldest first: the newest ones, or those before `before`. */
  messages: StoredMessage[];
  /** Older messages exist: ask again with `before` = `next_cursor`. */
  has_more: boolean;
  next_cursor: string | null;
}

/** Token counts from the `done` event. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
