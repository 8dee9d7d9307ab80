import { baseTokens } from './vocabulary.js';

/** SentencePiece's stand-in for a space inside token texts; llama.cpp turns it back into " ". */
export const spaceMarker = '\u2581';

/** Each piece has at least this many characters (Unicode code points). */
export const minimumPieceLength = 3;

/** The longest script accepted, in UTF-16 code units (a model direction per piece). */
export const maximumScriptLength = 2000;

/**
 * Splits a script into the vocabulary pieces the scripted model answers with, word by word
 * (a space starts a new word and is written as U+2581, as SentencePiece does).
 *
 * Why every piece is distinct and at least 3 characters long: llama.cpp's SPM tokenizer starts
 * from single characters and merges two neighbours only when their concatenation is a vocabulary
 * text. The base vocabulary has no text of 1 or 2 characters, so no first merge is ever possible
 * and a prompt always tokenizes to byte tokens: never to a script piece, even when the prompt
 * contains the script. Distinct pieces let each one own its own embedding direction.
 */
export function splitScript(script: string): string[] {
  checkScript(script);
  const escaped = script.replaceAll(' ', spaceMarker);
  const words = escaped.split(new RegExp(`(?=${spaceMarker})`, 'u')).filter((word) => word !== '');
  const reserved = new Set(baseTokens());
  const pieces: string[] = [];
  const used = new Set<string>();
  const fits = (piece: string) =>
    [...piece].length >= minimumPieceLength && !used.has(piece) && !reserved.has(piece);

  let pending = '';
  for (const word of words) {
    pending += word;
    if (fits(pending)) {
      pieces.push(pending);
      used.add(pending);
      pending = '';
    }
  }
  // A short or repeated tail joins the pieces before it until it forms a new piece; at worst
  // the whole script becomes one piece.
  while (pending !== '') {
    const previous = pieces.pop();
    if (previous === undefined) {
      throw new RangeError(`the script "${script}" cannot be a vocabulary piece`);
    }
    used.delete(previous);
    pending = previous + pending;
    if (fits(pending)) {
      pieces.push(pending);
      used.add(pending);
      pending = '';
    }
  }
  return pieces;
}

/** Rejects scripts the model could not answer exactly; the message names the problem. */
export function checkScript(script: string): void {
  if ([...script].length < minimumPieceLength) {
    throw new RangeError(`the script must have at least ${minimumPieceLength} characters`);
  }
  if (script.length > maximumScriptLength) {
    throw new RangeError(`the script must have at most ${maximumScriptLength} characters`);
  }
  if (/\s/u.test(script[0] ?? '')) {
    throw new RangeError('the script must not start with white space');
  }
  if (script.includes(spaceMarker)) {
    throw new RangeError('the script must not contain U+2581, which the tokenizer uses for spaces');
  }
  if (script.includes('<|im_')) {
    throw new RangeError('the script must not contain ChatML markers such as <|im_end|>');
  }
  if (/[\uD800-\uDFFF]/u.test(script)) {
    throw new RangeError('the script must be well-formed Unicode');
  }
}
