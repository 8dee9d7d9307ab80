let cached: Promise<ReadonlySet<string>> | undefined;

/**
 * The model architectures the installed node-llama-cpp can run (its `GgufArchitectureType`
 * table, which matches the bundled llama.cpp's list). The module is imported only when asked:
 * it takes about half a second to load, which commands that never touch a model should not pay.
 */
export function supportedArchitectures(): Promise<ReadonlySet<string>> {
  cached ??= load();
  return cached;
}

async function load(): Promise<ReadonlySet<string>> {
  const module: object = await import('node-llama-cpp');
  // The typings declare the table as an ambient const enum, which verbatimModuleSyntax forbids
  // reading; the module exports it as a plain object.
  const table: unknown = Reflect.get(module, 'GgufArchitectureType');
  if (typeof table !== 'object' || table === null) return new Set(['llama']);
  return new Set(
    Object.values(table).filter(
      (name): name is string => typeof name === 'string' && !name.startsWith('('),
    ),
  );
}
