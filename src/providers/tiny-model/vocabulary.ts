/**
 * The tiny model's SentencePiece-style ("llama") vocabulary: the special tokens, all 256 byte
 * tokens (llama.cpp refuses an SPM vocabulary without them), the ChatML control tokens, the space
 * piece, then any extra pieces. Any other text falls back to byte tokens, so every prompt can be
 * tokenized.
 */

/** llama.cpp's token types (`tokenizer.ggml.token_type`). */
export const tokenTypes = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export interface Vocabulary {
  tokens: string[];
  types: number[];
  unknownId: number;
  bosId: number;
  eosId: number;
  /** Id of the first extra piece; the extra pieces follow in order. */
  firstPieceId: number;
}

/**
 * ChatML, the format of `<|im_start|>role\ncontent<|im_end|>\n` turns. node-llama-cpp recognises
 * this template and picks its ChatML chat wrapper.
 */
export const chatMlTemplate =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const byteTokens = Array.from(
  { length: 256 },
  (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`,
);

/** Base token texts and types, in id order. */
const base: readonly (readonly [string, number])[] = [
  ['<unk>', tokenTypes.unknown],
  ['<s>', tokenTypes.control],
  ['</s>', tokenTypes.control],
  ...byteTokens.map((text) => [text, tokenTypes.byte] as const),
  ['<|im_start|>', tokenTypes.control],
  ['<|im_end|>', tokenTypes.control],
  // The tokenizer writes spaces as U+2581; as a normal token it detokenizes back to " " (as byte
  // tokens it would come back as "▁", and node-llama-cpp warns that text does not round-trip).
  ['\u2581', tokenTypes.normal],
];

/** The texts every tiny model's vocabulary holds before its extra pieces. */
export function baseTokens(): string[] {
  return base.map(([text]) => text);
}

export function buildVocabulary(pieces: readonly string[]): Vocabulary {
  const tokens = [...baseTokens(), ...pieces];
  return {
    tokens,
    types: [...base.map(([, type]) => type), ...pieces.map(() => tokenTypes.normal)],
    unknownId: 0,
    bosId: 1,
    // EOS is `<|im_end|>`, not `</s>`: the scripted model ends its answer with this token, and
    // every layer agrees that it ends the turn: llama.cpp (it is the EOS token), node-llama-cpp's
    // ChatML wrapper (a stop trigger) and the chat template (it closes each message). So
    // LlamaChatSession stops right after the script, with no marker text left in the answer.
    eosId: tokens.indexOf('<|im_end|>'),
    firstPieceId: base.length,
  };
}
