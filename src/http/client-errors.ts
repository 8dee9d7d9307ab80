import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, errorBody, type ErrorCode } from '../errors.js';
import { securityHeaders } from './plugins/guard.js';

/**
 * What Node's HTTP parser refuses before a request exists (so no route, hook or error handler
 * runs): a malformed request line or header, a bad Content-Length or chunk size, headers over the
 * limit, a request that did not arrive in time. Answered like every other error, in the OpenAI
 * shape with a request id and the security headers (Fastify's default wrote its own JSON), and
 * the connection is closed, since the rest of its bytes cannot be trusted.
 */
export function clientErrorHandler(
  tls: boolean,
  logger: FastifyBaseLogger,
): (error: Error & { code?: string }, socket: Socket) => void {
  const headers = securityHeaders(tls)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (error, socket) => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const appError = new AppError(codeOf(error.code));
    const requestId = randomUUID();
    logger.debug({ reqId: requestId, code: error.code }, appError.message);
    if (socket.writable) {
      const body = JSON.stringify(errorBody(appError));
      socket.write(
        `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\n` +
          'content-type: application/json; charset=utf-8\r\n' +
          `content-length: ${Buffer.byteLength(body)}\r\n` +
          `x-request-id: ${requestId}\r\n` +
          headers +
          'connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy();
  };
}

function codeOf(parserCode: string | undefined): ErrorCode {
  switch (parserCode) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request_timeout';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    default:
      return 'malformed_http';
  }
}
