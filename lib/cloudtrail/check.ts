// A small hand-written validator for the few fields roleguard reads from a record: no schema library in the Lambda
// bundles (zod alone cost about 45 ms of cold start). Its messages are the ones the zod schemas gave, so that a
// rejected record is named with the same reason as before.

/** One problem with a value, at a dotted path ("" for the value itself). */
export interface Issue {
  path: string;
  message: string;
}

/** Checks one value at a path and adds what is wrong with it to `issues`. */
export type Check = (value: unknown, path: string, issues: Issue[]) => void;

/** The type name used in "expected X, received Y". */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

/** A missing value reads "missing"; any other, "Invalid input: expected X, received Y". */
export function expected(what: string, value: unknown): string {
  return value === undefined ? 'missing' : `Invalid input: expected ${what}, received ${typeName(value)}`;
}

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** True for a plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Strings are measured in code points (a surrogate pair counts once), as zod measured them.
function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++)
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  return count;
}

/**
 * A string of at most `max` characters (and at least `min`), optionally matching `pattern`. As zod did, the length
 * limits are also checked on a value of the wrong type that has a length (an array).
 */
export function str(max: number | null, options: { min?: number; pattern?: RegExp; message?: string } = {}): Check {
  const { min, pattern, message } = options;
  return (value, path, issues) => {
    const isString = typeof value === 'string';
    if (!isString) issues.push({ path, message: expected('string', value) });
    const length = value === null || value === undefined ? undefined : (value as { length?: unknown }).length;
    if (length === undefined) return;
    const size = (limit: number) =>
      isString && (value as string).length > limit ? codePoints(value as string) : (length as number);
    if (max !== null && !(size(max) <= max)) issues.push({ path, message: `longer than ${max} characters` });
    if (min !== undefined && !(size(min - 1) >= min)) {
      const origin = Array.isArray(value) ? 'array' : isString ? 'string' : 'unknown';
      const unit = origin === 'array' ? ' items' : origin === 'string' ? ' characters' : '';
      issues.push({ path, message: `Too small: expected ${origin} to ${unit ? 'have' : 'be'} >=${min}${unit}` });
    }
    if (isString && pattern && !pattern.test(value as string)) issues.push({ path, message: message! });
  };
}

/** A string that passes `test` (checked only once it is a string). */
export function refined(test: (value: string) => boolean, message: string): Check {
  return (value, path, issues) => {
    if (typeof value !== 'string') issues.push({ path, message: expected('string', value) });
    else if (!test(value)) issues.push({ path, message });
  };
}

/** Exactly this string. */
export function literal(text: string): Check {
  return (value, path, issues) => {
    if (value !== text) issues.push({ path, message: `Invalid input: expected ${JSON.stringify(text)}` });
  };
}

/** One of these strings. */
export function oneOf(texts: readonly string[]): Check {
  const allowed = new Set(texts);
  const message = `Invalid option: expected one of ${texts.map((t) => JSON.stringify(t)).join('|')}`;
  return (value, path, issues) => {
    if (typeof value !== 'string' || !allowed.has(value)) issues.push({ path, message });
  };
}

/** Also accepts null and a missing value. */
export function nullish(check: Check): Check {
  return (value, path, issues) => {
    if (value !== null && value !== undefined) check(value, path, issues);
  };
}

/** Also accepts a missing value (not null). */
export function optional(check: Check): Check {
  return (value, path, issues) => {
    if (value !== undefined) check(value, path, issues);
  };
}

/** An object with these fields (others are allowed and not checked), each checked in the order given. */
export function object(shape: Record<string, Check>): Check {
  const fields = Object.entries(shape);
  return (value, path, issues) => {
    if (!isObject(value)) {
      issues.push({ path, message: expected('object', value) });
      return;
    }
    for (const [key, check] of fields) check(value[key], at(path, key), issues);
  };
}

/** An array of strings. */
export const stringArray: Check = (value, path, issues) => {
  if (!Array.isArray(value)) {
    issues.push({ path, message: expected('array', value) });
    return;
  }
  for (let i = 0; i < value.length; i++) str(null)(value[i], at(path, String(i)), issues);
};

/** A whole number ≥ 0, written as a number or as a string of up to 9 digits ("900"): some pipelines do that. */
export const lenientInt: Check = (value, path, issues) => {
  if (typeof value === 'string') {
    if (!/^\d{1,9}$/.test(value)) issues.push({ path, message: 'not a whole number' });
    return;
  }
  if (typeof value !== 'number') {
    issues.push({ path, message: 'Invalid input' });
    return;
  }
  if (!Number.isInteger(value)) issues.push({ path, message: 'Invalid input: expected int, received number' });
  else if (value > Number.MAX_SAFE_INTEGER)
    issues.push({ path, message: `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}` });
  else if (value < Number.MIN_SAFE_INTEGER)
    issues.push({ path, message: `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}` });
  // Not `else`: below the safe range it is below 0 too, and zod reports both.
  if (Number.isInteger(value) && value < 0) issues.push({ path, message: 'Too small: expected number to be >=0' });
};

/** Render issues as one line: "path: message; path: message" (the first 8). */
export function describeIssues(issues: Issue[]): string {
  return issues
    .slice(0, 8)
    .map((issue) => `${issue.path || '(record)'}: ${issue.message}`)
    .join('; ');
}

/** Run a check; the issues found, none when the value is valid. */
export function validate(check: Check, value: unknown): Issue[] {
  const issues: Issue[] = [];
  check(value, '', issues);
  return issues;
}
