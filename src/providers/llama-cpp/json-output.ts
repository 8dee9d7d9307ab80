import type { GbnfJsonSchema, Llama, LlamaGrammar } from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import type { ResponseFormat } from '../types.js';
import { grammarSchema, schemaParam } from './json-schema-subset.js';

// JSON output for local models: `response_format` becomes a llama.cpp grammar, so every token
// sampled keeps the answer inside JSON (any object for `json_object`, the schema for
// `json_schema`), whatever the weights would rather say. (Types only from node-llama-cpp here.)

/** Schema grammars kept, by schema text: an agent sends the same few schemas again and again. */
const maxCachedGrammars = 32;

/** The grammars of one llama.cpp instance, built once each. */
export class JsonGrammars {
  private json: Promise<LlamaGrammar> | undefined;
  private readonly schemas = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly llama: Llama) {}

  /** Checks the format (a 400 for a schema it cannot enforce) and returns its grammar. */
  grammarFor(format: ResponseFormat): Promise<LlamaGrammar> {
    if (format.type === 'json_object' || format.json_schema.schema === undefined) {
      return (this.json ??= this.llama.getGrammarFor('json'));
    }
    return this.grammarForSchema(grammarSchema(format.json_schema.schema), schemaParam);
  }

  /**
   * The grammar of a schema already checked by `grammarSchema` (a forced tool call's, too);
   * `param` names the request's field in the 400 when llama.cpp still cannot build it.
   */
  grammarForSchema(schema: GbnfJsonSchema, param: string): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.schemas.get(key);
    if (grammar === undefined) {
      // The schema is checked above at run time; its literal type cannot be known statically.
      grammar = this.llama
        .createGrammarForJsonSchema(schema as Readonly<{ type: 'object' }>)
        .catch((error: unknown) => {
          // A schema within the checks above that llama.cpp still cannot turn into a grammar
          // (a $ref cycle with nothing to write, repetitions of rules too complex).
          throw new AppError(
            'unsupported_parameter',
            `${param}: llama.cpp cannot build a grammar for this schema ` +
              `(${(error as Error).message}); simplify it.`,
            { param },
          );
        });
      const made = grammar;
      made.catch(() => {
        if (this.schemas.get(key) === made) this.schemas.delete(key);
      });
      if (this.schemas.size >= maxCachedGrammars) {
        this.schemas.delete(this.schemas.keys().next().value!);
      }
      this.schemas.set(key, grammar);
    } else {
      // Most recently used last: the first key is the one to drop.
      this.schemas.delete(key);
      this.schemas.set(key, grammar);
    }
    return grammar;
  }
}
