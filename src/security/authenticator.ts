import { AppError } from '../errors.js';
import type { JwtVerifier } from './jwt.js';
import { isOpaqueToken, type OpaqueTokenVerifier, type Principal } from './tokens.js';

/**
 * Turns an `Authorization` header into a principal: RS256 JWTs (the tokens `assistd tokens issue`
 * makes) and the opaque `asd_…` tokens of earlier versions (and the first administrator token),
 * which keep working.
 */
export class Authenticator {
  constructor(
    private readonly opaque: OpaqueTokenVerifier,
    private readonly jwt: JwtVerifier,
  ) {}

  /** Not `async` itself, so the bearer path costs one async call, as it did before cookies. */
  verify(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') {
      return Promise.reject(new AppError('missing_token'));
    }
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) {
      return Promise.reject(
        new AppError('invalid_token', 'The Authorization header must be "Bearer <token>".'),
      );
    }
    return this.verifyToken(match[1]!);
  }

  /**
   * Verifies a bare token, from the `Authorization` header or from the console's session cookie
   * (whose value is the bearer token itself, so both paths apply the same checks).
   */
  async verifyToken(token: string): Promise<Principal> {
    if (isOpaqueToken(token)) return this.opaque.verify(token);
    if (token.length > 16_384) throw new AppError('invalid_token', 'The token is too long.');
    const claims = await this.jwt.verify(token);
    return {
      name: claims.subject,
      groups: claims.groups,
      admin: claims.groups.includes('admin'),
      tokenId: claims.jti,
      method: 'jwt',
      expiresAt: claims.expiresAt,
    };
  }
}
