import { randomBytes } from 'node:crypto';

/** Makes ids like `conv_3f9a…`; injected so tests can make them predictable. */
export type IdGenerator = (prefix: string) => string;

export const randomId: IdGenerator = (prefix) => `${prefix}_${randomBytes(12).toString('hex')}`;

/** The clock, injected for the same reason. Milliseconds since the epoch. */
export type Clock = () => number;
