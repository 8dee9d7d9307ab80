import type { Logger } from 'pino';
import {
  getLlama,
  LlamaChat,
  LlamaLogLevel,
  resolveChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaModel,
} from 'node-llama-cpp';
import { useFiniteNumbers } from './finite-numbers.js';
import { JsonGrammars } from './json-output.js';

await useFiniteNumbers();

/** How the local engine uses the machine. */
export interface RuntimeOptions {
  /** Path of the `.gguf` file. */
  path: string;
  /** Sequences in the one context: chats decoded together (`max_batch_size`). */
  sequences: number;
  /** Tokens each sequence can hold. */
  contextSize: number;
  /** CPU threads for decoding. */
  threads: number;
  /** Offload layers to a GPU when one is found. */
  gpu: boolean;
  logger: Logger;
  signal?: AbortSignal;
  /** How many sequences are generating now (busy slots), so a decode step can wait for them. */
  activeSequences?: () => number;
}

/** A loaded model: one context whose sequences each come with a `LlamaChat`. */
export interface Runtime {
  model: LlamaModel;
  context: LlamaContext;
  chats: LlamaChat[];
  /** `response_format` as grammars (json-output.ts). */
  grammars: JsonGrammars;
  dispose(): Promise<void>;
}

const llamas = new Map<string, Promise<Llama>>();

/**
 * One `Llama` (the native library binding) per thread/GPU setting for the whole process: it is
 * expensive to create and holds the thread pool. The prebuilt binary is used as installed
 * (`build: 'never'`): nothing is downloaded or compiled at run time.
 */
/**
 * The native library's latest error lines (all instances): node-llama-cpp's own error for a model
 * it cannot load says only "Failed to load model", and llama.cpp logs why.
 */
const nativeErrors: string[] = [];

function sharedLlama(options: RuntimeOptions): Promise<Llama> {
  const key = `${options.gpu ? 'auto' : 'cpu'}/${options.threads}`;
  let llama = llamas.get(key);
  if (!llama) {
    const logger = options.logger.child({ component: 'llama.cpp' });
    llama = getLlama({
      gpu: options.gpu ? 'auto' : false,
      build: 'never',
      maxThreads: options.threads,
      progressLogs: false,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (text === '') return;
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
          logger.error(text);
          nativeErrors.push(text);
          if (nativeErrors.length > 5) nativeErrors.shift();
        } else {
          logger.debug(text);
        }
      },
    });
    llamas.set(key, llama);
    llama.catch(() => llamas.delete(key));
  }
  return llama;
}

/** Loads the model and its context; `onProgress` gets 0..1 while the weights load. */
export async function loadRuntime(
  options: RuntimeOptions,
  onProgress: (fraction: number) => void,
): Promise<Runtime> {
  const llama = await sharedLlama(options);
  nativeErrors.length = 0;
  const model = await llama
    .loadModel({
      modelPath: options.path,
      gpuLayers: options.gpu ? 'auto' : 0,
      onLoadProgress: onProgress,
      ...(options.signal ? { loadSignal: options.signal } : {}),
    })
    .catch((error: unknown) => {
      // "Failed to load model" becomes "Failed to load model (… tensor '…' has wrong shape)".
      const why = nativeErrors.join('; ');
      throw why === '' || !(error instanceof Error)
        ? error
        : new Error(`${error.message} (${why})`, { cause: error });
    });
  try {
    // The schedule below reads `context` only once decoding runs, after it is assigned.
    const context: LlamaContext = await model.createContext({
      sequences: options.sequences,
      contextSize: options.contextSize,
      threads: options.threads,
      // Every sequence with pending tokens goes into the next decode: new chats join the
      // running batch between steps instead of waiting for it to finish.
      batching: {
        dispatchSchedule: gatherSchedule(() => context, options.activeSequences),
        itemPrioritizationStrategy: 'maximumParallelism',
      },
      ...(options.signal ? { createSignal: options.signal } : {}),
    });
    if (options.sequences > 1) sampleFirstAlone(context);
    // Resolving the chat template takes about 0.4 s; do it once and share the (stateless) wrapper.
    const chatWrapper = resolveChatWrapper(model);
    const chats: LlamaChat[] = [];
    for (let index = 0; index < options.sequences; index++) {
      chats.push(new LlamaChat({ contextSequence: context.getSequence(), chatWrapper }));
    }
    return {
      model,
      context,
      chats,
      grammars: new JsonGrammars(llama),
      async dispose() {
        for (const chat of chats) chat.dispose({ disposeSequence: true });
        await context.dispose();
        await model.dispose();
      },
    };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

/** Event-loop turns a decode step waits at most for generating sequences to queue their token. */
const maxGatherTurns = 3;

/**
 * When to run the next decode step. node-llama-cpp's default runs it on the next event-loop turn,
 * which in a server splits the batch: after a step, each chat's continuation (its text goes out
 * over HTTP first) queues its next token on a different turn, and the early ones go without the
 * rest. This waits, at most `maxGatherTurns` turns, until every generating sequence has queued
 * its token. The count of queued sequences is node-llama-cpp's own (a private field of the pinned
 * 3.21.1); without it, the default behaviour is kept.
 */
function gatherSchedule(
  context: () => LlamaContext | undefined,
  active: (() => number) | undefined,
): (dispatch: () => void) => void {
  return (dispatch) => {
    let turns = 0;
    const check = () => {
      const queued = (
        context() as unknown as { _queuedDecodeSequenceIds?: Set<number> } | undefined
      )?._queuedDecodeSequenceIds?.size;
      if (
        active === undefined ||
        queued === undefined ||
        queued >= active() ||
        ++turns >= maxGatherTurns
      ) {
        dispatch();
      } else {
        setImmediate(check);
      }
    };
    setImmediate(check);
  };
}

/** The native calls of node-llama-cpp 3.21.1's context that `sampleFirstAlone` orders. */
interface NativeContext {
  decodeBatch(...args: unknown[]): Promise<unknown>;
  sampleToken(...args: unknown[]): Promise<unknown>;
}

/**
 * After a decode, the first sampling runs alone; the sequences' other samplings wait for it, then
 * run together.
 *
 * Why: node-llama-cpp samples each sequence of a batch on its own libuv worker thread, all at
 * once. llama.cpp puts a multi-sequence decode's outputs back in batch order lazily, in place, on
 * the first read of its logits (`llama_context::output_reorder`, since ggml-org/llama.cpp#14853),
 * and a context with one KV stream per sequence (the default) reorders almost every step. Two
 * samplings in that reorder at once read each other's rows: one chat got the next token of
 * another, 5 to 63 answers in 800 wrong in 16-chat runs here. Once the first sampling has returned
 * the reorder is done, and the logits are only read.
 *
 * Uses `_ctx`, a private field of the pinned node-llama-cpp; without it the model refuses to load
 * rather than mix chats.
 */
function sampleFirstAlone(context: LlamaContext): void {
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (typeof native?.decodeBatch !== 'function' || typeof native.sampleToken !== 'function') {
    throw new Error(
      'this node-llama-cpp has no _ctx.decodeBatch/sampleToken: batched sampling cannot be ordered (node-llama-cpp 3.21.1 is required)',
    );
  }
  const decode = native.decodeBatch.bind(native);
  const sample = native.sampleToken.bind(native);
  /** The first sampling since the last decode; undefined until it starts. */
  let first: Promise<unknown> | undefined;
  // The native methods are read-only properties of the prototype: shadow them on the instance.
  const override = <Name extends keyof NativeContext>(name: Name, value: NativeContext[Name]) =>
    Object.defineProperty(native, name, { value, configurable: true });
  override('decodeBatch', (...args) => {
    first = undefined;
    return decode(...args);
  });
  override('sampleToken', (...args) => {
    if (first === undefined) {
      first = sample(...args);
      return first;
    }
    const next = () => sample(...args);
    return first.then(next, next);
  });
}
