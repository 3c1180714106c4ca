/** Deeper than this, the walk stops bounding and the caller measures exactly (JSON.stringify). */
const MAX_WALK_DEPTH = 64;
/** The longest text JSON.stringify writes for a finite number (`-0.0000012345678901234567`). */
const MAX_NUMBER_CHARS = 25;
/** JSON.stringify writes at most 6 bytes of UTF-8 per UTF-16 code unit (`\u001f`; a lone surrogate as `\ud800`). */
const MAX_BYTES_PER_UNIT = 6;

/**
 * The size in bytes of `JSON.stringify(value)` as UTF-8, or null when it cannot be serialised (cyclic, nested too
 * deeply for V8, a BigInt). Exact when that size could exceed `limit`; at or below `limit` it may return an upper
 * bound instead, found by a walk that writes no text: a record parsed from JSON is plain data, and measuring it
 * that way costs a fraction of serialising it. So `size > limit` is true exactly when the serialised value exceeds
 * `limit`.
 */
export function jsonBytesWithin(value: unknown, limit: number): number | null {
  const bound = plainBound(value, 0);
  if (bound !== null && bound <= limit) return bound;
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return null;
  }
}

// An upper bound of the serialised size of plain JSON data (objects and arrays with the standard prototypes or none,
// strings, finite or non-finite numbers, booleans, null); null for anything else, which the caller then measures.
function plainBound(value: unknown, depth: number): number | null {
  switch (typeof value) {
    case 'string':
      return 2 + MAX_BYTES_PER_UNIT * value.length;
    case 'number':
      return MAX_NUMBER_CHARS;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      // undefined, functions and symbols are left out of objects and written as null in arrays; BigInt throws.
      return null;
  }
  if (value === null) return 4;
  if (depth >= MAX_WALK_DEPTH) return null;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return null;
    let total = 2 + value.length;
    for (let i = 0; i < value.length; i++) {
      const item = plainBound(value[i], depth + 1);
      if (item === null) return null;
      total += item;
    }
    return total;
  }
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function')
    return null;
  let total = 2;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = plainBound((value as Record<string, unknown>)[key], depth + 1);
    if (item === null) return null;
    // The key, quoted and escaped, its colon and a comma.
    total += 4 + MAX_BYTES_PER_UNIT * key.length + item;
  }
  return total;
}
