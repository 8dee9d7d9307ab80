// Diagnostic: CPU microseconds per request spent by the bare proxy and by assistd (/proc/PID/stat),
// so gateway overhead can be seen apart from the load generator and the upstream sharing the CPUs.
// "open" is the same assistd with access control off (no JWT, policy or audit; assistd-open.ts);
// "no metrics" has metrics and the time series off.
// After `npm run build`: node --import tsx bench/cpu-per-request.ts (LOG_LEVEL=silent to compare).
import autocannon from 'autocannon';
import { cpuSeconds, startAssistd, startHelper, stopAll } from './support.js';

try {
  const upstream = await startHelper('upstream.ts');
  const proxy = await startHelper('bare-proxy.ts', [upstream.url]);
  const assistd = await startAssistd(upstream.url, { logLevel: process.env.LOG_LEVEL ?? 'info' });
  const open = await startAssistd(upstream.url, {
    logLevel: process.env.LOG_LEVEL ?? 'info',
    open: true,
  });
  const unmonitored = await startAssistd(upstream.url, {
    logLevel: process.env.LOG_LEVEL ?? 'info',
    extraConfig: 'metrics:\n  enabled: false\n',
  });
  const auth = { authorization: `Bearer ${assistd.token}` };
  const unmonitoredAuth = { authorization: `Bearer ${unmonitored.token}` };
  const completion = JSON.stringify({
    model: 'bench-model',
    messages: [{ role: 'user', content: '你好' }],
    temperature: 0.7,
  });
  const chat = JSON.stringify({ messages: [{ role: 'user', content: '你好' }] });
  const runs = [
    ['bare proxy', `${proxy.url}/v1/chat/completions`, proxy.pid, {}, completion],
    ['assistd completions', `${assistd.url}/v1/chat/completions`, assistd.pid, auth, completion],
    ['assistd chat', `${assistd.url}/v1/chat`, assistd.pid, auth, chat],
    ['open completions', `${open.url}/v1/chat/completions`, open.pid, {}, completion],
    ['open chat', `${open.url}/v1/chat`, open.pid, {}, chat],
    [
      'no metrics completions',
      `${unmonitored.url}/v1/chat/completions`,
      unmonitored.pid,
      unmonitoredAuth,
      completion,
    ],
  ] as const;
  for (const [name, url, pid, headers, body] of runs) {
    const options = {
      url,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', ...headers },
      body,
      connections: 16,
    };
    await autocannon({ ...options, duration: 2 });
    const before = cpuSeconds(pid);
    const result = await autocannon({ ...options, duration: 5 });
    const micros = ((cpuSeconds(pid) - before) * 1e6) / result.requests.total;
    console.log(
      `${name.padEnd(22)} ${result.requests.average.toFixed(0).padStart(6)} req/s  ${micros.toFixed(0).padStart(5)} µs CPU/request`,
    );
  }
} finally {
  stopAll();
}
