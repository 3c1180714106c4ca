import { randomInt } from 'node:crypto';

/** Default length of a generated external ID. */
export const DEFAULT_EXTERNAL_ID_LENGTH = 32;

/**
 * Letters and digits only: a subset of what STS accepts ([A-Za-z0-9+=,.@:/_-]) that every vendor's form takes and
 * that survives copy and paste. 62 symbols: 32 characters carry about 190 bits.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Generate an external ID from the CSPRNG (`crypto.randomInt` draws without modulo bias). */
export function generateExternalId(
  length = DEFAULT_EXTERNAL_ID_LENGTH,
  random: (max: number) => number = randomInt,
): string {
  if (!Number.isInteger(length) || length < 2 || length > 1224)
    throw new RangeError(`an external ID is 2 to 1224 characters; asked for ${length}`);
  let id = '';
  for (let i = 0; i < length; i++) id += ALPHABET[random(ALPHABET.length)];
  return id;
}
