import type { Config } from '../config/schema.js';
import type { Store } from '../storage/types.js';
import type { Clock } from '../util/ids.js';
import { Authenticator } from './authenticator.js';
import { JwtVerifier, type JwtSettings } from './jwt.js';
import { Keyring, type SecretSealer } from './keyring.js';
import { TokenIssuer } from './token-issuer.js';
import { OpaqueTokenVerifier } from './tokens.js';

const dayMs = 86_400_000;

/** What authentication needs, built the same way by the server and the offline CLI. */
export interface SecurityContext {
  keyring: Keyring;
  jwt: JwtSettings;
  authenticator: Authenticator;
  /** Longest lifetime a token may be issued with, in milliseconds. */
  maxTokenTtlMs: number;
  /** Issues and revokes tokens (CLI and admin API). */
  issuer: TokenIssuer;
}

export async function openSecurity(options: {
  config: Readonly<Config>;
  store: Store;
  sealer: SecretSealer;
  clock?: Clock;
}): Promise<SecurityContext> {
  const { config, store } = options;
  const clock = options.clock ?? Date.now;
  const security = config.security;
  const maxTokenTtlMs = security.max_token_ttl_days * dayMs;
  const keyring = new Keyring({
    store: store.signingKeys,
    sealer: options.sealer,
    clock,
    rotationMs: security.key_rotation_days * dayMs,
    maxTokenTtlMs,
  });
  await keyring.load();
  const jwt: JwtSettings = {
    issuer: security.jwt.issuer,
    acceptedIssuers: [security.jwt.issuer, ...security.jwt.accepted_issuers],
    audience: security.jwt.audience,
    clockToleranceSeconds: security.jwt.clock_tolerance_seconds,
  };
  const authenticator = new Authenticator(
    new OpaqueTokenVerifier(store.tokens, clock),
    new JwtVerifier(keyring, store.tokens, jwt, clock),
  );
  const issuer = new TokenIssuer({ keyring, jwt, tokens: store.tokens, maxTokenTtlMs, clock });
  return { keyring, jwt, authenticator, maxTokenTtlMs, issuer };
}
