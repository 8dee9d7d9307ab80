// Scenario 3 of the local-engine benchmark: time to first token of a follow-up turn on a long
// conversation, with the sequence that holds its history reused and without.
//
// "Without reuse" is produced on a server with one sequence (--max-batch-size 1): an unrelated
// chat sent between the two requests must take that only sequence, so the follow-up finds its
// history gone and evaluates the whole prompt. Both cases run the very same follow-up request on
// the very same server, one right after the other, so the ratio isolates the reuse. (With 16
// sequences, evicting a conversation takes 16 other chats and depends on the pool's LRU order.)
// The same "with reuse" measurement is also made on the 16-sequence server, where the pool has to
// find the conversation's sequence among 16.
import { longConversation, type Message } from './local-engine-load.js';
import { median } from './support.js';
import { chat, type ChatOutcome, type LocalServer } from './local-engine-server.js';

export interface FollowUpOptions {
  /** A server with --max-batch-size 1. */
  single: LocalServer;
  /** The throughput server (16 sequences). */
  batched: LocalServer;
  repetitions: number;
  /** Tokens of the conversation before the follow-up (about; one token per byte here). */
  historyTokens: number;
  sampling: { temperature: number; seed: number };
  log: (line: string) => void;
}

interface Case {
  ttft_ms: number;
  cached_tokens: number;
  runs_ms: number[];
}

export interface FollowUpResult {
  /** Prompt tokens of turn k (the history) and of the follow-up, turn k+1. */
  history_tokens: number;
  prompt_tokens: number;
  with_reuse: Case;
  without_reuse: Case;
  with_reuse_batched: Case;
  /** Median over repetitions of with / without, each pair measured back to back. */
  ratio: number;
}

export async function measureFollowUp(options: FollowUpOptions): Promise<FollowUpResult> {
  const streamed = (maxTokens: number) => ({ ...options.sampling, maxTokens, stream: true });

  /** Sends turn k; returns turn k+1: the history, the answer and a short new question. */
  const turn = async (server: LocalServer, index: number) => {
    const history = longConversation(index, options.historyTokens);
    const answer = await chat(server, history, streamed(16));
    const followUp: Message[] = [
      ...history,
      { role: 'assistant', content: answer.text },
      { role: 'user', content: 'Thanks. Now sum up part 2 in one sentence.' },
    ];
    return { followUp, historyTokens: answer.promptTokens };
  };
  const ttft = (outcome: ChatOutcome) => outcome.ttftMs ?? outcome.totalMs;

  const withRuns: ChatOutcome[] = [];
  const withoutRuns: ChatOutcome[] = [];
  const batchedRuns: ChatOutcome[] = [];
  const historyTokens: number[] = [];
  // Repetition 0 warms up and is not counted.
  for (let repetition = 0; repetition <= options.repetitions; repetition++) {
    const { followUp, historyTokens: history } = await turn(options.single, repetition);
    const withReuse = await chat(options.single, followUp, streamed(8));
    await chat(
      options.single,
      [{ role: 'user', content: `An unrelated question, number ${repetition}: what is a cloud?` }],
      streamed(8),
    );
    const withoutReuse = await chat(options.single, followUp, streamed(8));
    const batchedTurn = await turn(options.batched, 1000 + repetition);
    const batched = await chat(options.batched, batchedTurn.followUp, streamed(8));
    if (repetition === 0) continue;
    historyTokens.push(history);
    withRuns.push(withReuse);
    withoutRuns.push(withoutReuse);
    batchedRuns.push(batched);
    options.log(
      `follow-up ${repetition}  history ${history} tokens, follow-up ${withReuse.promptTokens}: ` +
        `with reuse ${ttft(withReuse).toFixed(0)} ms (cached ${withReuse.cachedTokens}), ` +
        `without ${ttft(withoutReuse).toFixed(0)} ms (cached ${withoutReuse.cachedTokens}); ` +
        `with reuse, batched server ${ttft(batched).toFixed(0)} ms (cached ${batched.cachedTokens})`,
    );
  }
  const summarize = (runs: ChatOutcome[]): Case => ({
    ttft_ms: median(runs.map(ttft)),
    cached_tokens: median(runs.map((run) => run.cachedTokens ?? 0)),
    runs_ms: runs.map(ttft),
  });
  return {
    history_tokens: median(historyTokens),
    prompt_tokens: median(withRuns.map((run) => run.promptTokens)),
    with_reuse: summarize(withRuns),
    without_reuse: summarize(withoutRuns),
    with_reuse_batched: summarize(batchedRuns),
    ratio: median(withRuns.map((run, index) => ttft(run) / ttft(withoutRuns[index]!))),
  };
}
