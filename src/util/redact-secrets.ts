/**
 * Characters of a secret that, found together in a text, count as the secret leaking: a receiver
 * or an endpoint that echoes a key often echoes part of it (without its `sk-` prefix, cut at a
 * delimiter, in a URL), and eight characters in a row of a random key are no coincidence.
 */
export const leakedRunLength = 8;

/**
 * `text` with each secret replaced by `replacement`: the whole secret, its percent-encoded form,
 * and every run of `leakedRunLength` or more of its characters in a row. Secrets of three
 * characters or fewer are left alone: hiding them would garble the text and they protect
 * nothing. For error texts and answers (bounded), not for bulk data.
 */
export function redactSecrets(
  text: string,
  secrets: readonly string[],
  replacement: string,
): string {
  const hidden = new Uint8Array(text.length);
  for (const secret of secrets) {
    if (secret.length <= 3) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      markRuns(text, form, Math.min(leakedRunLength, form.length), hidden);
    }
  }
  let result = '';
  for (let index = 0; index < text.length;) {
    if (hidden[index] === 1) {
      const start = index;
      while (hidden[index] === 1) index++;
      // Spaces at a run's edges (a secret such as "Bearer x…" matched from its space) stay.
      const run = text.slice(start, index);
      const kept = /^(\s*)[\s\S]*?(\s*)$/.exec(run)!;
      result += run.trim() === '' ? run : `${kept[1]}${replacement}${kept[2]}`;
    } else {
      result += text[index];
      index++;
    }
  }
  return result;
}

/** Marks in `hidden` every place where `length` characters of `text` are a run of `secret`'s. */
function markRuns(text: string, secret: string, length: number, hidden: Uint8Array): void {
  const runs = new Set<string>();
  for (let start = 0; start + length <= secret.length; start++) {
    runs.add(secret.slice(start, start + length));
  }
  for (let start = 0; start + length <= text.length; start++) {
    if (runs.has(text.slice(start, start + length))) hidden.fill(1, start, start + length);
  }
}
