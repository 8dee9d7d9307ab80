// Diagnostic: CPU microseconds per request spent by the bare proxy and by assistd (/proc/PID/stat),
// so gateway overhead can be seen apart from the load generator and the upstream sharing the CPUs.
// "open" is the same assistd with access control off (no JWT, policy or audit; assistd-open.ts);
// "no metrics" has metrics and the time series off.
// After `npm run build`: node --import tsx bench/cpu-per-request.ts (LOG_LEVEL=silent to compare).
import { runWithCpu, startAssistd, startHelper, stopAll } from './support.js';

try {
  const logLevel = process.env.LOG_LEVEL ?? 'info';
  const upstream = await startHelper('upstream.ts');
  const proxy = { ...(await startHelper('bare-proxy.ts', [upstream.url])), token: '' };
  const assistd = await startAssistd(upstream.url, { logLevel });
  const open = await startAssistd(upstream.url, { logLevel, open: true });
  const unmonitored = await startAssistd(upstream.url, {
    logLevel,
    extraConfig: 'metrics:\n  enabled: false\n',
  });
  const completion = JSON.stringify({
    model: 'bench-model',
    messages: [{ role: 'user', content: '你好' }],
    temperature: 0.7,
  });
  const chat = JSON.stringify({ messages: [{ role: 'user', content: '你好' }] });
  const runs = [
    ['bare proxy', proxy, '/v1/chat/completions', completion],
    ['assistd completions', assistd, '/v1/chat/completions', completion],
    ['assistd chat', assistd, '/v1/chat', chat],
    ['open completions', open, '/v1/chat/completions', completion],
    ['open chat', open, '/v1/chat', chat],
    ['no metrics completions', unmonitored, '/v1/chat/completions', completion],
  ] as const;
  for (const [name, server, path, body] of runs) {
    await runWithCpu(server, path, body, { connections: 16, seconds: 2 });
    const result = await runWithCpu(server, path, body, { connections: 16, seconds: 5 });
    const micros = (result.cpu * 1e6) / result.requests;
    console.log(
      `${name.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} req/s  ${micros.toFixed(0).padStart(5)} µs CPU/request`,
    );
  }
} finally {
  stopAll();
}
