// The closed load loop and the prompts of the local-engine benchmark, shared by the HTTP side (in
// bench/local-engine.ts) and the direct side (bench/local-engine-direct.ts), so both run the very
// same loop over the very same prompts.

/** What one side is asked to do at one concurrency level. */
export interface LoadPlan {
  concurrency: number;
  /** New requests start until this many seconds have passed; running ones finish. */
  seconds: number;
  maxTokens: number;
  temperature: number;
  seed: number;
}

export interface LoadResult {
  /** Generated tokens of all requests. */
  tokens: number;
  requests: number;
  /** From the first request's start to the last one's end. */
  seconds: number;
  tokensPerSecond: number;
}

/**
 * `concurrency` clients, each sending its next request as soon as the previous one is answered,
 * until `seconds` have passed; the requests still running then are awaited and counted, so the
 * rate is generated tokens over the whole time (the tail, where fewer clients run, is included on
 * both sides alike). `once` returns the generated tokens of one request.
 */
export async function closedLoop(
  plan: Pick<LoadPlan, 'concurrency' | 'seconds'>,
  once: (client: number, turn: number) => Promise<number>,
): Promise<LoadResult> {
  const started = performance.now();
  const deadline = started + plan.seconds * 1000;
  let tokens = 0;
  let requests = 0;
  await Promise.all(
    Array.from({ length: plan.concurrency }, async (_, client) => {
      for (let turn = 0; turn === 0 || performance.now() < deadline; turn++) {
        // Not `tokens += await …`: that reads `tokens` before the await and loses the other
        // clients' additions made meanwhile.
        const generated = await once(client, turn);
        tokens += generated;
        requests++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { tokens, requests, seconds, tokensPerSecond: tokens / seconds };
}

const topics = [
  'the history of the printing press',
  'how tides depend on the moon',
  'why bread rises in the oven',
  'the rules of chess for beginners',
  'how a bicycle stays upright',
  'what makes a good cup of tea',
  'the life cycle of a star',
  'how bees find their way home',
];

/**
 * The user message of a client's turn: distinct for every (client, turn), so no request finds its
 * prompt already evaluated, and the same on both sides.
 */
export function loadPrompt(client: number, turn: number): string {
  return `Question ${turn} from client ${client}: please explain ${topics[(client + turn) % topics.length]!} in a few sentences.`;
}

const words = (
  'the a of to and in that is for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there been one all we their has would when if so no what ' +
  'up out about who more some could them into time only new its than now then other like over ' +
  'river garden window letter morning station market bridge winter summer village harbour'
).split(' ');

/** Deterministic filler text of about `characters` characters (one token per byte here). */
export function fillerText(seed: number, characters: number): string {
  let state = (seed * 2654435761) >>> 0 || 1;
  const parts: string[] = [];
  let length = 0;
  while (length < characters) {
    // xorshift32: enough to vary the words, and the same text on every run.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const word = words[state % words.length]!;
    parts.push(word);
    length += word.length + 1;
  }
  return `${parts.join(' ')}.`;
}

export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * A long conversation (for the follow-up-turn scenario): a system message, then user turns of
 * long filler text with short fixed assistant answers, ending with a user turn, about
 * `historyTokens` tokens in all. Every `index` gives a different conversation.
 */
export function longConversation(index: number, historyTokens: number): Message[] {
  const userTurns = 3;
  const answer = 'Thank you, I have read it. What would you like me to do with it next?';
  const perTurn = Math.max(
    16,
    Math.floor((historyTokens - 60 - (userTurns - 1) * (answer.length + 20)) / userTurns) - 40,
  );
  const messages: Message[] = [
    { role: 'system', content: `You are a careful reader. Conversation ${index}.` },
  ];
  for (let turn = 0; turn < userTurns; turn++) {
    if (turn > 0) messages.push({ role: 'assistant', content: answer });
    messages.push({
      role: 'user',
      content: `Part ${turn + 1} of my notes: ${fillerText(index * 31 + turn, perTurn)}`,
    });
  }
  return messages;
}
