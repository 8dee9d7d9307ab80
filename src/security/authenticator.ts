import { AppError } from '../errors.js';
import type { JwtVerifier, VerifiedJwt } from './jwt.js';
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
    const token = bearerToken(authorization);
    if (token === undefined) {
      return Promise.reject(
        new AppError('invalid_token', 'The Authorization header must be "Bearer <token>".'),
      );
    }
    return this.verifyToken(token);
  }

  /**
   * The principal of a bearer JWT that verified before and is still good, answered without
   * waiting (most requests, from clients that reuse their token); undefined when it takes
   * `verify` to decide (first use, an opaque token, a store that cannot answer at once). Never
   * accepts what `verify` would refuse.
   */
  verifiedNow(authorization: string | undefined): Principal | undefined {
    // Unchecked: only a token equal to one that verified (and so was checked) gets through.
    const token = authorization === undefined ? undefined : bearerToken(authorization, false);
    if (token === undefined || isOpaqueToken(token)) return undefined;
    const claims = this.jwt.verifiedNow(token);
    return claims && principalOf(claims);
  }

  /**
   * Verifies a bare token, from the `Authorization` header or from the console's session cookie
   * (whose value is the bearer token itself, so both paths apply the same checks).
   */
  async verifyToken(token: string): Promise<Principal> {
    if (isOpaqueToken(token)) return this.opaque.verify(token);
    if (token.length > 16_384) throw new AppError('invalid_token', 'The token is too long.');
    return principalOf(await this.jwt.verify(token));
  }
}

function principalOf(claims: VerifiedJwt): Principal {
  return {
    name: claims.subject,
    groups: claims.groups,
    admin: claims.groups.includes('admin'),
    tokenId: claims.jti,
    method: 'jwt',
    expiresAt: claims.expiresAt,
  };
}

/**
 * The token of `Bearer <token>` (scheme case-insensitive, spaces around the token allowed as
 * before), or undefined. Written out rather than as a regular expression: this runs on every
 * request, and the expression took about 0.5 µs of it. `checked` false skips the scan for
 * whitespace inside the token, for a caller that only compares it with tokens that verified.
 */
export function bearerToken(authorization: string, checked = true): string | undefined {
  if (authorization.length < 8 || authorization.slice(0, 6).toLowerCase() !== 'bearer') {
    return undefined;
  }
  let start = 6;
  while (authorization.charCodeAt(start) === 32) start += 1;
  let end = authorization.length;
  while (end > start && authorization.charCodeAt(end - 1) === 32) end -= 1;
  if (start === 6 || start === end) return undefined;
  const token = authorization.slice(start, end);
  return checked && /\s/.test(token) ? undefined : token;
}
