/** Bidirectional formatting characters: a name holding one can display as another (U+202E…). */
const bidi = '\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069';

/**
 * A principal: 1–200 characters, no control or bidirectional formatting characters, not starting
 * with white space, and well-formed Unicode (no lone surrogate, which has no UTF-8 form and no
 * canonical JSON). The same for tokens issued here and for the `sub` of any token verified.
 */
export const principalPattern = new RegExp(
  `^[^\\s\\p{Cc}\\p{Cs}${bidi}][^\\p{Cc}\\p{Cs}${bidi}]{0,199}$`,
  'u',
);
/** A group name as policies write it after `group:`. */
export const groupPattern = /^[A-Za-z0-9._:@-]{1,64}$/;
/** A token id: a JWT's `jti` or an opaque token's id. */
export const tokenIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
