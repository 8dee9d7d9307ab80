import type { ChatMessage, ChatModel, MessageContent, Usage } from '../providers/types.js';

/**
 * Token estimate for models whose tokenizer this process does not have (remote endpoints).
 *
 * A character-class count, calibrated against OpenAI's cl100k_base in `token-estimate.test.ts`
 * so that it stays at or above the real count on English, Chinese, Japanese, Russian, code, JSON,
 * numbers and mixed text, and within about twice it. Overestimating only drops history a little
 * early; underestimating would let the endpoint reject a request. Loading a real BPE table instead
 * would cost about 90 MB of memory and 2 µs per character on the request path.
 *
 * - a run of ASCII letters: one token per 5 characters up to 15 letters (a word), one per 3 beyond
 *   (an identifier or encoded data), at least one;
 * - a run of digits: one token per 3 digits (BPE tokenizers split numbers in threes);
 * - one space or tab before a letter run is free (it joins the word); other blank runs cost one
 *   token per 4 characters, at least one;
 * - a newline or an ASCII punctuation mark: one token each;
 * - an accented Latin, Greek or Cyrillic letter: 0.75 tokens; a CJK ideograph or hangul syllable:
 *   1.5; kana and other characters below U+10000: one;
 * - characters above U+FFFF (emoji, rare ideographs): three tokens.
 */
export function estimateTextTokens(text: string): number {
  let tokens = 0;
  let letters = 0;
  let digits = 0;
  let blanks = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const isLetter = (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
    const isDigit = code >= 48 && code <= 57;
    if (isLetter ? digits > 0 : letters > 0) {
      tokens += letterRunTokens(letters) + Math.ceil(digits / 3);
      letters = 0;
      digits = 0;
    }
    if (code === 32 || code === 9) {
      if (letters > 0 || digits > 0) tokens += letterRunTokens(letters) + Math.ceil(digits / 3);
      letters = 0;
      digits = 0;
      blanks++;
      continue;
    }
    if (blanks > 0) {
      // A single blank joins a following word; anything else pays for its blanks.
      if (!(isLetter && blanks === 1)) tokens += Math.ceil(blanks / 4);
      blanks = 0;
    }
    if (isLetter) {
      letters++;
    } else if (isDigit) {
      digits++;
    } else {
      tokens += letterRunTokens(letters) + Math.ceil(digits / 3);
      letters = 0;
      digits = 0;
      tokens += otherCharTokens(code);
      if (code >= 0xd800 && code <= 0xdbff) index++; // skip the low surrogate
    }
  }
  tokens += letterRunTokens(letters) + Math.ceil(digits / 3) + Math.ceil(blanks / 4);
  return Math.ceil(tokens);
}

/** A word of up to 15 letters is rarely split more than every 5; longer runs are not words. */
function letterRunTokens(letters: number): number {
  if (letters === 0) return 0;
  return letters <= 15 ? Math.ceil(letters / 5) : Math.ceil(letters / 3);
}

function otherCharTokens(code: number): number {
  if (code < 128) return 1;
  if (code >= 0x00c0 && code <= 0x04ff) return 0.75; // accented Latin, Greek, Cyrillic letters
  if (code >= 0xd800 && code <= 0xdbff) return 3;
  if (isCjk(code)) return 1.5;
  return 1;
}

function isCjk(code: number): boolean {
  return (
    (code >= 0x3400 && code <= 0x9fff) || // CJK ideographs (+ extension A)
    (code >= 0xac00 && code <= 0xd7af) || // hangul syllables
    (code >= 0xf900 && code <= 0xfaff) // compatibility ideographs
  );
}

/** Tokens per message for the chat template's role markers (OpenAI's documented overhead). */
export const messageOverheadTokens = 4;
/** Tokens that prime the assistant's reply. */
export const replyPrimingTokens = 3;

/** OpenAI's price of one image: 85 tokens at low detail, 765 for a 1024×1024 image otherwise. */
function imageTokens(detail: string | undefined): number {
  return detail === 'low' ? 85 : 765;
}

/** Counts the tokens of one message's content with `countText`, images at their fixed price. */
export function contentTokens(
  content: MessageContent,
  countText: (text: string) => number,
): number {
  if (typeof content === 'string') return countText(content);
  let tokens = 0;
  for (const part of content) {
    tokens += part.type === 'text' ? countText(part.text) : imageTokens(part.image_url.detail);
  }
  return tokens;
}

export function messageTokens(message: ChatMessage, countText: (text: string) => number): number {
  return messageOverheadTokens + contentTokens(message.content, countText);
}

/** How a model's text is counted: its own tokenizer when it has one, else the estimate above. */
export function textCounter(model: Pick<ChatModel, 'countTokens'>): (text: string) => number {
  return model.countTokens ? (text) => model.countTokens!(text) : estimateTextTokens;
}

/** Tokens of a prompt: every message with its overhead, plus the reply priming. */
export function promptTokens(
  messages: readonly ChatMessage[],
  countText: (text: string) => number,
) {
  return messages.reduce(
    (sum, message) => sum + messageTokens(message, countText),
    replyPrimingTokens,
  );
}

/** Usage for a provider that reported none: the prompt's count and the answer's. */
export function estimatedUsage(
  prompt: number,
  answer: string,
  countText: (text: string) => number,
): Usage {
  const completionTokens = countText(answer);
  return { promptTokens: prompt, completionTokens, totalTokens: prompt + completionTokens };
}
