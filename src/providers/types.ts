import type { AppError } from '../errors.js';

export type Role = 'system' | 'user' | 'assistant';

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' | undefined };
}

export type ContentPart = TextPart | ImagePart;

/** A message body: plain text, or parts when it carries images. */
export type MessageContent = string | ContentPart[];

/** A function call a model asked for (OpenAI's `tool_calls[]`); `arguments` is JSON text. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A message of a conversation (`/v1/chat`): system, user or assistant text. */
export interface ConversationMessage {
  role: Role;
  content: MessageContent;
}

/**
 * A message to a model. `tool` messages (the result of a call, `toolCallId`) and an assistant's `toolCalls`
 * come only through `/v1/chat/completions`, to models whose `capabilities.tools` is true;
 * conversations (`/v1/chat`) hold system, user and assistant text.
 */
export interface ChatMessage {
  role: Role | 'tool';
  content: MessageContent;
  /** A participant's name, for endpoints that tell participants of one role apart. */
  name?: string | undefined;
  /** assistant: the calls it made (its content is then often ''). */
  toolCalls?: readonly ToolCall[] | undefined;
  /** tool: the call this message answers. */
  toolCallId?: string | undefined;
}

/** A function the model may call; `parameters` is a JSON Schema, passed on as given. */
export interface ToolDefinition {
  type: 'function';
  function: {
    name: string;
    description?: string | undefined;
    parameters?: Record<string, unknown> | undefined;
    strict?: boolean | null | undefined;
  };
}

export type ToolChoice =
  'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/**
 * OpenAI's `response_format` asking for JSON: any object, or JSON matching a schema. (`text` is
 * what every model does: no format.)
 */
export type ResponseFormat =
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: {
        name: string;
        description?: string | undefined;
        schema?: Record<string, unknown> | undefined;
        strict?: boolean | null | undefined;
      };
    };

/** One request to a model, already stripped of everything the gateway handles itself. */
export interface ChatRequest {
  messages: readonly ChatMessage[];
  temperature?: number | undefined;
  topP?: number | undefined;
  maxTokens?: number | undefined;
  /**
   * The name the client gave `maxTokens`, sent on as given: OpenAI's newer models refuse
   * `max_tokens`, and older OpenAI-compatible servers know only it. Absent: `max_tokens`.
   */
  maxTokensName?: 'max_tokens' | 'max_completion_tokens' | undefined;
  stop?: readonly string[] | undefined;
  seed?: number | undefined;
  presencePenalty?: number | undefined;
  frequencyPenalty?: number | undefined;
  /** Functions the model may call (models with `capabilities.tools` only). */
  tools?: readonly ToolDefinition[] | undefined;
  toolChoice?: ToolChoice | undefined;
  parallelToolCalls?: boolean | undefined;
  responseFormat?: ResponseFormat | undefined;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens the model did not evaluate again (a local sequence's KV cache held them). */
  cachedPromptTokens?: number | undefined;
}

/**
 * Why generation ended. `tool_calls`: the answer is calls for the client to run. `error` and
 * `abort` mark an answer that is incomplete.
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'abort';

/**
 * A piece of a streamed tool call, as OpenAI streams them: the first piece of call `index`
 * carries its `id` and `name`, later ones more of its `arguments` text.
 */
export interface ToolCallDelta {
  type: 'tool-call-delta';
  index: number;
  id?: string | undefined;
  name?: string | undefined;
  arguments: string;
}

/**
 * What a model stream yields, in order: text and tool-call deltas, then exactly one `finish` or
 * `error`.
 */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | ToolCallDelta
  | { type: 'finish'; finishReason: FinishReason; usage: Usage | undefined }
  | { type: 'error'; error: AppError };

export interface GenerateResult {
  text: string;
  /** The calls the model asked for, when it asked for any. */
  toolCalls?: ToolCall[] | undefined;
  finishReason: FinishReason;
  usage: Usage | undefined;
}

export interface ModelCapabilities {
  /** Accepts `image_url` content parts. */
  images: boolean;
  /** Takes `tools` (function calling) and tool messages. Absent: no. */
  tools?: boolean;
  /** Takes `response_format` `json_object` and `json_schema` (JSON output). Absent: no. */
  jsonOutput?: boolean;
  /** Context window in tokens. */
  contextWindow: number;
  /**
   * What the chat template adds, in tokens: around each message, and to prime the reply. Absent:
   * OpenAI's documented 4 and 3 (dialog/token-estimate.ts). The prompt's history is fitted with
   * these, so a template that costs more (ChatML: 8 to 13 a message) never overfills the window.
   */
  templateTokens?: { perMessage: number; reply: number };
}

/** Result of a readiness probe. */
export type ModelHealth = { ok: true } | { ok: false; reason: string };

/**
 * A model the service can talk to. `stream` throws (a `ProviderError` or `AppError`) when it fails
 * before yielding anything, so the caller can still answer with an HTTP error status; once it has
 * yielded a part, failures arrive as an `error` part.
 */
export interface ChatModel {
  readonly id: string;
  /** Provider name, e.g. `openai-compatible`; shown as `owned_by` in /v1/models. */
  readonly provider: string;
  /** A note for people choosing a model, shown in /v1/models (e.g. that it is the demo). */
  readonly description?: string | undefined;
  readonly capabilities: ModelCapabilities;
  /**
   * Why the model cannot serve at all (a local model that failed to load); undefined while it
   * can, or may once loaded. `/v1/models` lists it as not available.
   */
  readonly unavailable?: string | undefined;
  /** Exact token count of a text when the provider has the model's tokenizer. */
  countTokens?(text: string): number;
  generate(request: ChatRequest, signal: AbortSignal): Promise<GenerateResult>;
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<StreamPart>;
  check(signal: AbortSignal): Promise<ModelHealth>;
  close(): Promise<void>;
}
