/**
 * What no principal name may hold: control characters (Cc), lone surrogates (Cs, no UTF-8 form
 * and no canonical JSON), format characters (Cf: bidirectional marks and overrides such as
 * U+202E and U+061C, zero-width spaces and joiners, U+FEFF, soft hyphens, tag characters) and
 * line or paragraph separators. Each makes a name display as another ("admin\u200B" as "admin",
 * "\u202Eevil" as "live").
 */
const unseen = '\\p{Cc}\\p{Cs}\\p{Cf}\\p{Zl}\\p{Zp}';

/**
 * A principal: 1–200 characters, none of those, not starting or ending with white space. The
 * same for tokens issued here and for the `sub` of any token verified.
 */
export const principalPattern = new RegExp(
  `^[^\\s${unseen}](?:[^${unseen}]{0,198}[^\\s${unseen}])?$`,
  'u',
);
/** A group name as policies write it after `group:`. */
export const groupPattern = /^[A-Za-z0-9._:@-]{1,64}$/;
/** A token id: a JWT's `jti` or an opaque token's id. */
export const tokenIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
