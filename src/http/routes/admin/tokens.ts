import type { FastifyInstance } from 'fastify';
import * as z from '../../../util/zod.js';
import { AppError } from '../../../errors.js';
import { TokenRequestError, revocationFacts, tokenJson } from '../../../security/token-issuer.js';
import { KeyringError } from '../../../security/keyring.js';
import type { TokenListing } from '../../../storage/types.js';
import type { AppDeps } from '../../app.js';
import { addAuditDetails } from '../../plugins/audit.js';
import { principalOf } from '../../plugins/auth.js';
import { parseBody, parseValue } from '../../validate.js';

/** A page's cursor: the last row's time and id, opaque to clients. */
function encodeCursor(token: TokenListing): string {
  return Buffer.from(`${token.createdAt}:${token.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,16}):([A-Za-z0-9._:-]{1,128})$/.exec(text);
  if (!match) {
    throw new AppError('invalid_request', 'cursor is not one this server gave out.', {
      param: 'cursor',
    });
  }
  return { createdAt: Number(match[1]), id: match[2]! };
}

const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(512).optional(),
  include_expired: z.enum(['true', 'false']).default('false'),
});

const issueSchema = z.strictObject({
  principal: z.string(),
  groups: z.array(z.string()).max(32).default([]),
  ttl: z.string().max(16).default('30d'),
  admin: z.boolean().default(false),
});

const revokeParamsSchema = z.object({ id: z.string() });

/** A refused token request as a 400 naming the field. */
function asInvalid(error: unknown): never {
  if (error instanceof TokenRequestError) {
    throw new AppError('invalid_request', `${error.message}.`, { param: error.param });
  }
  // No active key, or one whose private key cannot be opened: the keyring says which, and how
  // to mend it (administrators only reach this route).
  if (error instanceof KeyringError) {
    throw new AppError('signing_key_unavailable', `${error.message}.`, { cause: error });
  }
  throw error;
}

/**
 * `GET /admin/tokens` (JWTs issued by this service, from the CLI or here, and opaque tokens,
 * newest first, paged), `POST /admin/tokens` (issue a JWT; the token is in this response only)
 * and `DELETE /admin/tokens/:id` (revoke by `jti` or opaque id: it fails at once on every
 * replica, since revocation is checked on every request). The audit record names the token's
 * id and principal, never the token.
 */
export function tokenRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/admin/tokens', async (request) => {
    const query = parseValue(listQuerySchema, request.query);
    const now = deps.clock();
    const rows = await deps.store.tokens.listTokens({
      now,
      includeExpired: query.include_expired === 'true',
      limit: query.limit + 1,
      before: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const page = rows.slice(0, query.limit);
    return {
      object: 'list',
      data: page.map((token) => tokenJson(token, now)),
      next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!) : null,
    };
  });

  app.post('/admin/tokens', async (request, reply) => {
    const body = parseBody(issueSchema, request.body);
    const issuedBy = principalOf(request).name;
    const issued = await deps.tokenIssuer
      .issue({ ...body, issuedBy })
      .catch((error: unknown) => asInvalid(error));
    addAuditDetails(request, {
      type: 'jwt',
      subject: issued.principal,
      groups: issued.groups,
      token_id: issued.jti,
      kid: issued.kid,
    });
    void reply.code(201).header('cache-control', 'no-store');
    return {
      id: issued.jti,
      token: issued.token,
      type: 'jwt',
      principal: issued.principal,
      groups: issued.groups,
      kid: issued.kid,
      created_at: new Date(issued.createdAt).toISOString(),
      expires_at: new Date(issued.expiresAt).toISOString(),
    };
  });

  app.delete('/admin/tokens/:id', async (request) => {
    const { id } = parseValue(revokeParamsSchema, request.params);
    const revoked = await deps.tokenIssuer.revoke(id).catch((error: unknown) => asInvalid(error));
    addAuditDetails(request, revocationFacts(id, revoked));
    return {
      id,
      revoked: true,
      already_revoked: !revoked.fresh,
      issued_here: revoked.issued !== undefined,
    };
  });
}
