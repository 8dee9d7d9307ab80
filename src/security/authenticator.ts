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

  async verify(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') throw new AppError('missing_token');
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) {
      throw new AppError('invalid_token', 'The Authorization header must be "Bearer <token>".');
    }
    const token = match[1]!;
    if (isOpaqueToken(token)) return this.opaque.verify(token);
    if (token.length > 16_384) throw new AppError('invalid_token', 'The token is too long.');
    const claims = await this.jwt.verify(token);
    return {
      name: claims.subject,
      groups: claims.groups,
      admin: claims.groups.includes('admin'),
      tokenId: claims.jti,
      method: 'jwt',
    };
  }
}
