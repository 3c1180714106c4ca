// A few hand-written checks for the registry document, in place of a schema library: the deployed functions validate
// the registry they read from DynamoDB on every cache period, and a schema library is about half of a function's
// bundle and cold start. The messages are the ones the registry has always given (zod 4's English messages where no
// message of our own is set), and so are the order of the problems and which ones an alternative (`either`) reports.

/** A problem at a path. `soft`: a failed rule on a value of the right type (zod's `continue`), not a wrong type. */
export interface Issue {
  path: (string | number)[];
  message: string;
  soft?: boolean;
}

/** What a check gives back: the value (with defaults applied, strings trimmed) and the problems found. */
export interface Checked<T> {
  value: T;
  issues: Issue[];
}

/** A check of one value. */
export type Check<T> = (input: unknown) => Checked<T>;

/** The name of the type of a value, as the problems say it (`received array`, `received NaN`, `received Set`). */
export function typeName(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : String(value);
  if (typeof value !== 'object') return typeof value;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && 'constructor' in value && typeof value.constructor === 'function')
    return (value.constructor as { name: string }).name;
  return 'object';
}

const wrongType = <T>(expected: string, input: unknown): Checked<T> => ({
  value: input as T,
  issues: [{ path: [], message: `Invalid input: expected ${expected}, received ${typeName(input)}` }],
});
const ok = <T>(value: T): Checked<T> => ({ value, issues: [] });
const soft = (message: string): Issue => ({ path: [], message, soft: true });
const within = (key: string | number, issues: Issue[]) => issues.map((i) => ({ ...i, path: [key, ...i.path] }));

/** How long a value is for a length rule: code points of a string, else its `length` (undefined: no length). */
function lengthOf(value: unknown): unknown {
  if (typeof value === 'string') return [...value].length;
  return value === null || value === undefined ? undefined : (value as { length?: unknown }).length;
}

/** The length rules. They also apply to a value of the wrong type that has a length, after its type's problem. */
function lengthIssues(value: unknown, min: [number, string] | undefined, max: number | undefined): Issue[] {
  const length = lengthOf(value) as number | undefined;
  if (length === undefined) return [];
  const issues: Issue[] = [];
  if (min && !(length >= min[0])) issues.push(soft(min[1]));
  if (max !== undefined && !(length <= max)) {
    const origin = typeof value === 'string' ? 'string' : Array.isArray(value) ? 'array' : 'unknown';
    const unit = { string: ' characters', array: ' items', unknown: '' }[origin];
    issues.push(soft(`Too big: expected ${origin} to ${unit ? 'have' : 'be'} <=${max}${unit}`));
  }
  return issues;
}

/** A string; `trim` first, then the length limits, the pattern and the predicate, each with its message. */
export function text(rules: {
  trim?: boolean;
  min?: [number, string];
  max?: number;
  pattern?: [RegExp, string];
  valid?: [(value: string) => boolean, string];
}): Check<string> {
  return (input) => {
    if (typeof input !== 'string') {
      const checked = wrongType<string>('string', input);
      return { ...checked, issues: [...checked.issues, ...lengthIssues(input, rules.min, rules.max)] };
    }
    const value = rules.trim ? input.trim() : input;
    const issues = lengthIssues(value, rules.min, rules.max);
    if (rules.pattern && !rules.pattern[0].test(value)) issues.push(soft(rules.pattern[1]));
    if (rules.valid && !rules.valid[0](value)) issues.push(soft(rules.valid[1]));
    return { value, issues };
  };
}

/** A finite number, a whole (safe) one with `int`, within `min` and `max`. */
export function number(rules: { int?: boolean; min: number; max: number }): Check<number> {
  return (input) => {
    if (typeof input !== 'number' || !Number.isFinite(input)) return wrongType('number', input);
    if (rules.int && !Number.isInteger(input)) return wrongType('int', input);
    const issues: Issue[] = [];
    if (rules.int && input > Number.MAX_SAFE_INTEGER)
      issues.push(soft(`Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`));
    if (rules.int && input < Number.MIN_SAFE_INTEGER)
      issues.push(soft(`Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`));
    if (input < rules.min) issues.push(soft(`Too small: expected number to be >=${rules.min}`));
    if (input > rules.max) issues.push(soft(`Too big: expected number to be <=${rules.max}`));
    return { value: input, issues };
  };
}

/** true or false. */
export const boolean: Check<boolean> = (input) =>
  typeof input === 'boolean' ? ok(input) : wrongType('boolean', input);

/** Anything (checked later). */
export const anything: Check<unknown> = ok;

/** One of a few strings. */
export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (input) =>
    values.includes(input as T)
      ? ok(input as T)
      : {
          value: input as T,
          issues: [{ path: [], message: `Invalid option: expected one of ${values.map((v) => `"${v}"`).join('|')}` }],
        };
}

/** An array of items that each pass `item`; `min` items at least. */
export function list<T>(item: Check<T>, min?: [number, string]): Check<T[]> {
  return (input) => {
    if (!Array.isArray(input)) {
      const wrong = wrongType<T[]>('array', input);
      return { ...wrong, issues: [...wrong.issues, ...lengthIssues(input, min, undefined)] };
    }
    const checked = input.map((v) => item(v));
    const issues = checked.flatMap((c, i) => within(i, c.issues));
    issues.push(...lengthIssues(input, min, undefined));
    return { value: checked.map((c) => c.value), issues };
  };
}

/** Absent (undefined) allowed. */
export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (input) =>
    input === undefined ? ok(undefined) : check(input);

/** Absent (undefined) means `fallback`. */
export const orElse =
  <T>(check: Check<T>, fallback: () => T): Check<T> =>
  (input) =>
    input === undefined ? ok(fallback()) : check(input);

/** null allowed. */
export const orNull =
  <T>(check: Check<T>): Check<T | null> =>
  (input) =>
    input === null ? ok(null) : check(input);

/**
 * An object with exactly these fields (checked in this order), then one problem naming the fields it does not know.
 * `T` is what the caller states the fields give.
 */
export function record<T>(fields: Record<string, Check<unknown>>): Check<T> {
  return (input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return wrongType('object', input);
    const source = input as Record<string, unknown>;
    const value: Record<string, unknown> = {};
    const issues: Issue[] = [];
    for (const [key, check] of Object.entries(fields)) {
      const checked = check(source[key]);
      issues.push(...within(key, checked.issues));
      if (checked.value !== undefined || key in source) value[key] = checked.value;
    }
    const unknown: string[] = [];
    for (const key in source) if (!Object.hasOwn(fields, key)) unknown.push(key);
    if (unknown.length)
      issues.push(soft(`Unrecognized key${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `"${k}"`).join(', ')}`));
    return { value: value as T, issues };
  };
}

/**
 * The first alternative that passes. When none does: the problems of the only one whose problems are all `soft` (the
 * value had its type, and broke one of its rules), or else `message`.
 */
export function either<T>(alternatives: Check<T>[], message: string): Check<T> {
  return (input) => {
    const results = alternatives.map((check) => check(input));
    const passed = results.find((r) => r.issues.length === 0);
    if (passed) return passed;
    const typed = results.filter((r) => r.issues.every((i) => i.soft));
    if (typed.length === 1) return typed[0]!;
    return { value: input as T, issues: [{ path: [], message }] };
  };
}
