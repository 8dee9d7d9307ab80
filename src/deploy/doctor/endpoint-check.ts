import { Pool } from '../../net/undici.js';
import type { Config } from '../../config/schema.js';
import { guardedLookup } from '../../net/outbound-guard.js';
import type { ProviderError } from '../../providers/provider-error.js';
import { Endpoint } from '../../providers/openai-compatible/http.js';
import { parseModelIds, tryParseJson } from '../../providers/openai-compatible/wire.js';
import { fail, messageOf, pass, skip, warn, type Check, type CheckOutcome } from './check.js';
import { StageError, tcpConnect, tlsHandshake, type TlsHandshake } from './connect-stages.js';

/** A server certificate expiring sooner than this warns: renewal has failed or was forgotten. */
export const certificateWarnDays = 14;

const dayMs = 86_400_000;

export interface EndpointCheckOptions {
  /**
   * Extra trusted CA certificates (PEM) for the TLS and HTTP stages. The server trusts the
   * system's CAs and NODE_EXTRA_CA_CERTS only; tests pass their self-signed certificate here.
   */
  ca?: string | Buffer;
  now?: () => number;
}

/**
 * The model endpoint, stage by stage, each within the timeout: TCP connect, TLS handshake (for
 * https: protocol and certificate expiry), then GET …/models with the configured API key, on
 * the path the server itself uses (the `Endpoint` class builds it).
 */
export function endpointCheck(config: Readonly<Config>, options: EndpointCheckOptions = {}): Check {
  return {
    id: 'model-endpoint',
    title: 'Model endpoint',
    stages: 3,
    run: async ({ signal, timeoutMs }) => {
      const url = config.model_endpoint;
      if (url === undefined) return skip('no model_endpoint configured');
      try {
        return await probeEndpoint(config, url, signal, timeoutMs, options);
      } catch (error) {
        if (error instanceof StageError) return fail(error.message);
        throw error;
      }
    },
  };
}

async function probeEndpoint(
  config: Readonly<Config>,
  url: string,
  signal: AbortSignal,
  timeoutMs: number,
  options: EndpointCheckOptions,
): Promise<CheckOutcome> {
  const parsed = new URL(url);
  const https = parsed.protocol === 'https:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || (https ? 443 : 80));
  const allowHosts = config.upstream.allow_hosts;
  const socket = await tcpConnect({
    host,
    port,
    timeoutMs,
    signal,
    lookup: guardedLookup(allowHosts),
  });
  let handshake: TlsHandshake | undefined;
  try {
    if (https) {
      handshake = await tlsHandshake({
        socket,
        servername: host,
        timeoutMs,
        signal,
        ca: options.ca,
      });
    }
  } finally {
    socket.destroy();
  }

  const dispatcher =
    options.ca === undefined
      ? undefined
      : new Pool(parsed.origin, {
          connections: 1,
          connect: { ca: options.ca, timeout: timeoutMs },
        });
  let endpoint: Endpoint;
  try {
    endpoint = new Endpoint({
      url,
      apiKey: config.api_key,
      maxConnections: 1,
      connectTimeoutMs: timeoutMs,
      firstByteTimeoutMs: timeoutMs,
      idleTimeoutMs: timeoutMs,
      allowHosts,
      dispatcher,
    });
  } catch (error) {
    await dispatcher?.close();
    return fail(messageOf(error));
  }
  const target = `GET ${parsed.origin}${endpoint.modelsPath}`;
  const deadline = AbortSignal.timeout(timeoutMs);
  const httpSignal = AbortSignal.any([signal, deadline]);
  let text: string;
  try {
    const response = await endpoint.send('GET', endpoint.modelsPath, undefined, httpSignal, {
      headersTimeout: timeoutMs,
    });
    text = await endpoint.readText(response.body, httpSignal);
  } catch (error) {
    const failure = endpoint.classify(error, httpSignal);
    if (failure.failure === 'timeout' || deadline.aborted) {
      throw new StageError('HTTP', `${target}: no answer within ${timeoutMs} ms`, true);
    }
    return httpFailure(config, target, failure);
  } finally {
    await endpoint.close();
    await dispatcher?.close();
  }

  const details = [`${target}: HTTP 200`];
  const problems: string[] = [];
  const ids = parseModelIds(tryParseJson(text));
  if (ids === undefined) problems.push('the answer is not a model list');
  else
    details.push(
      `${ids.length} model${ids.length === 1 ? '' : 's'} (${ids.slice(0, 5).join(', ')})`,
    );
  const wanted = config.upstream.model;
  if (ids !== undefined && wanted !== undefined && !ids.includes(wanted)) {
    problems.push(`upstream.model "${wanted}" is not among them`);
  }
  if (handshake !== undefined) {
    details.push(handshake.protocol);
    if (handshake.validTo !== undefined) {
      const days = Math.floor((handshake.validTo - (options.now ?? Date.now)()) / dayMs);
      details.push(
        `certificate valid until ${new Date(handshake.validTo).toISOString()} (${days} days)`,
      );
      if (days < certificateWarnDays) problems.push(`its certificate expires in ${days} days`);
    }
  }
  if (config.api_key === undefined) problems.push('no API key is configured');
  const detail = [...details, ...problems].join('; ');
  return problems.length > 0 ? warn(detail) : pass(detail);
}

function httpFailure(config: Readonly<Config>, target: string, error: ProviderError): CheckOutcome {
  const status = error.status;
  if (error.failure !== 'http' || status === undefined) {
    return fail(`HTTP: ${target}: ${error.message}`);
  }
  if (status === 401 || status === 403) {
    return fail(
      config.api_key === undefined
        ? `HTTP: ${target}: HTTP ${status}: the endpoint needs an API key and none is configured (api_key_file)`
        : `HTTP: ${target}: HTTP ${status}: API key rejected`,
    );
  }
  if (status < 500 && config.upstream.model !== undefined) {
    // The server does not list models when upstream.model is set; some endpoints lack /models.
    return warn(`HTTP: ${target}: HTTP ${status}; reachable, and upstream.model is set`);
  }
  if (status < 500) {
    return fail(
      `HTTP: ${target}: HTTP ${status}; the server lists models to pick one: set upstream.model`,
    );
  }
  return fail(`HTTP: ${target}: HTTP ${status} (the endpoint is failing)`);
}
