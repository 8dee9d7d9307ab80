import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errorBody } from '../../errors.js';
import { ProviderError } from '../../providers/provider-error.js';
import { withoutTokenSecrets } from '../../security/tokens.js';
import { StoreUnavailableError, UnstorableTextError } from '../../storage/errors.js';

/** 503s of a passing state, logged as warnings rather than failures of the server. */
const expectedStates = new Set(['model_loading', 'shutting_down']);

/** Maps anything thrown in a request to a registered error; 5xx details stay in the log. */
export function registerErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((thrown, request, reply) => {
    const error = toAppError(thrown, bodyLimit);
    if (expectedStates.has(error.code)) {
      // A model still loading, a server draining: states the client is told to wait out.
      request.log.warn({ code: error.code }, error.message);
    } else if (error.status >= 500) {
      request.log.error({ err: thrown, code: error.code }, 'request failed');
    } else {
      request.log.debug({ code: error.code, param: error.param }, error.message);
    }
    void reply.status(error.status).headers(error.headers).send(errorBody(error));
  });

  app.setNotFoundHandler((request) => {
    // The message is logged too: a token pasted into the path is named without its secret.
    const path = withoutTokenSecrets((request.url.split('?')[0] ?? '').slice(0, 200));
    throw new AppError('route_not_found', `No route ${request.method} ${path}.`);
  });
}

function toAppError(thrown: unknown, bodyLimit: number): AppError {
  if (thrown instanceof AppError) return thrown;
  if (thrown instanceof ProviderError) return thrown.toAppError();
  if (thrown instanceof StoreUnavailableError) {
    return new AppError('store_unavailable', undefined, { cause: thrown });
  }
  if (thrown instanceof UnstorableTextError) {
    return new AppError('invalid_request', thrown.message, { cause: thrown });
  }
  const fastifyError = thrown as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large', `The request body is larger than ${bodyLimit} bytes.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_request', 'The Content-Length header does not match the body.');
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError('invalid_request', fastifyError.message ?? 'The request is invalid.');
  }
  return new AppError('internal_error', undefined, { cause: thrown });
}
