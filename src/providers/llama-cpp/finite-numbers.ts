// JSON numbers a grammar lets a model write. node-llama-cpp 3.21.1's number rule allows an
// exponent of up to 16 digits, on integers too: a small model wrote `3e4092086143809171`, which
// JSON.parse reads as Infinity (sent on as null), and in a call node-llama-cpp finished itself
// (tool_choice "auto") its own check of the parameters then failed the request. The rule is one
// method, `GbnfNumber.getGrammar`, used by every JSON grammar node-llama-cpp builds
// (`response_format`, forced calls, the parameters of the calls it finishes), so it is replaced
// once, when the runtime loads node-llama-cpp: integers are plain digits (at most 15), other numbers take an
// exponent of at most two digits (finite: at most about 1e115).

interface NumberTerminal {
  allowFractional: boolean;
  getGrammar(): string;
}

/** The number rule written in place of node-llama-cpp's. */
export function finiteNumberRule(fractional: boolean): string {
  // At most 15 digits: every such integer is exact in a double (2^53 has 16), and the arguments
  // are parsed and written again on their way to the client.
  const digits = '"-"? ("0" | [1-9] [0-9]{0,14})';
  return fractional ? `${digits} ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?` : digits;
}

/**
 * Replaces node-llama-cpp's number rule (the module is not in its package exports, so it is
 * reached by its file next to the entry point: the same module instance the library uses).
 * Throws when the pinned version's layout is not there, rather than run with the old rule.
 */
export async function useFiniteNumbers(): Promise<void> {
  const url = new URL(
    './utils/gbnfJson/terminals/GbnfNumber.js',
    import.meta.resolve('node-llama-cpp'),
  );
  const module = (await import(url.href)) as { GbnfNumber?: { prototype: NumberTerminal } };
  const terminal = module.GbnfNumber?.prototype;
  if (typeof terminal?.getGrammar !== 'function') {
    throw new Error(`node-llama-cpp has no GbnfNumber.getGrammar at ${url.href}`);
  }
  terminal.getGrammar = function getGrammar(this: NumberTerminal): string {
    return finiteNumberRule(this.allowFractional);
  };
}
