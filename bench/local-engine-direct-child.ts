// The direct side of the local-engine benchmark: node-llama-cpp driven in this process, with no
// HTTP and no assistd code, as the floor the server is compared with. Started by
// local-engine-direct.ts with `MODEL_PATH SEQUENCES CONTEXT_SIZE THREADS`; it talks over the IPC
// channel (see DirectRequest and DirectReply there).
import { getLlama, LlamaChat, resolveChatWrapper, type ChatHistoryItem } from 'node-llama-cpp';
import type { DirectReply, DirectRequest } from './local-engine-direct.js';
import { closedLoop, loadPrompt, type LoadPlan } from './local-engine-load.js';
import { rssMb } from './support.js';

function reply(message: DirectReply): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const [modelPath, sequences, contextSize, threads] = process.argv.slice(2);
  const threadCount = Number(threads);
  // The same settings the server's runtime uses (src/providers/llama-cpp/runtime.ts), spelled
  // out: no GPU, the installed binary, a fixed thread count.
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threadCount });
  const model = await llama.loadModel({ modelPath: modelPath!, gpuLayers: 0 });
  const context = await model.createContext({
    sequences: Number(sequences),
    contextSize: Number(contextSize),
    threads: threadCount,
  });
  // One wrapper for all chats, as the server does: resolving it ("auto") renders the model's
  // Jinja template and takes about 0.4 s each time; the wrapper itself is stateless.
  const chatWrapper = resolveChatWrapper(model);
  const chats = Array.from(
    { length: Number(sequences) },
    () => new LlamaChat({ contextSequence: context.getSequence(), chatWrapper }),
  );

  const run = (plan: LoadPlan) =>
    closedLoop(plan, async (client, turn) => {
      const chat = chats[client]!;
      const meter = chat.sequence.tokenMeter;
      const before = meter.usedOutputTokens;
      const history: ChatHistoryItem[] = [
        { type: 'user', text: loadPrompt(client, turn) },
        { type: 'model', response: [] },
      ];
      await chat.generateResponse(history, {
        maxTokens: plan.maxTokens,
        temperature: plan.temperature,
        seed: plan.seed,
      });
      return meter.usedOutputTokens - before;
    });

  process.on('message', (message: DirectRequest) => {
    run(message.plan).then(
      (result) => reply({ type: 'result', result }),
      (error: unknown) => reply({ type: 'error', message: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready', rssMb: rssMb(process.pid) });
}

main().catch((error: unknown) => {
  reply({ type: 'error', message: String(error) });
  process.exit(1);
});
