/**
 * An offline EventBridge event-pattern matcher: decides as a rule would whether an event matches a pattern, so the
 * tests and `roleguard replay` can run the rules' own patterns (lib/org/patterns.ts) on recorded events.
 *
 * Supported: nested objects, lists of exact values (strings, numbers, booleans, null), `prefix`, `suffix`,
 * `equals-ignore-case`, `anything-but` (a value, a list, or `{prefix}`/`{suffix}`), `exists`, `numeric` and `$or`.
 * A list in the event matches when any of its elements does. A field absent from the event matches only
 * `{exists: false}`, as in EventBridge. An operator this matcher does not know throws an EventPatternError instead of
 * guessing.
 */
import type { EventPattern } from './patterns.js';

/** A pattern this matcher cannot evaluate (malformed, or an operator it does not implement). */
export class EventPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventPatternError';
  }
}

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `event` matches the EventBridge `pattern`. */
export function matchesPattern(pattern: EventPattern, event: Json): boolean {
  if (!isObject(pattern)) throw new EventPatternError('an event pattern is a JSON object');
  return matchObject(pattern, event, '');
}

function matchObject(pattern: Record<string, Json>, event: Json, path: string): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') return matchOr(sub, event, path);
    const here = path ? `${path}.${key}` : key;
    const value = isObject(event) ? event[key] : undefined;
    if (Array.isArray(sub)) return matchField(sub, value, isObject(event) && key in event, here);
    if (isObject(sub)) {
      // An object in the pattern descends into the event; a list of objects matches when one element does.
      const candidates = Array.isArray(value) ? value : [value];
      return candidates.some((c) => isObject(c) && matchObject(sub, c, here));
    }
    throw new EventPatternError(`${here}: a pattern field holds a list of matchers or an object, not ${show(sub)}`);
  });
}

function matchOr(alternatives: Json, event: Json, path: string): boolean {
  if (!Array.isArray(alternatives) || alternatives.length === 0 || !alternatives.every(isObject))
    throw new EventPatternError(`${path || 'pattern'}: $or takes a non-empty list of patterns`);
  return alternatives.some((alternative) => matchObject(alternative, event, path));
}

/** A leaf: the event's value (or each element of a list) against a list of matchers. */
function matchField(matchers: Json[], value: Json, present: boolean, path: string): boolean {
  if (matchers.length === 0) throw new EventPatternError(`${path}: an empty list matches nothing`);
  const values = Array.isArray(value) ? value : [value];
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) return existsMatches(matcher.exists, value, present, path);
    // Only leaves present in the event reach the other matchers; an object value is not a leaf.
    return present && values.some((v) => !isObject(v) && !Array.isArray(v) && leafMatches(matcher, v, path));
  });
}

function existsMatches(wanted: Json, value: Json, present: boolean, path: string): boolean {
  if (typeof wanted !== 'boolean') throw new EventPatternError(`${path}: exists takes true or false`);
  // EventBridge's exists applies to leaves: an object (or an empty list) does not count as an existing value.
  const isLeaf = present && !isObject(value) && !(Array.isArray(value) && value.length === 0);
  return wanted === isLeaf;
}

function leafMatches(matcher: Json, value: Json, path: string): boolean {
  if (!isObject(matcher)) return exactly(matcher, value, path);
  const [operator, ...extra] = Object.keys(matcher);
  if (!operator || extra.length > 0)
    throw new EventPatternError(`${path}: a matcher has one operator, ${show(matcher)}`);
  const arg = matcher[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return affix(operator, arg, value, path);
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new EventPatternError(`${path}: equals-ignore-case takes a string`);
      return typeof value === 'string' && value.toLowerCase() === arg.toLowerCase();
    case 'anything-but':
      return anythingBut(arg, value, path);
    case 'numeric':
      return numeric(arg, value, path);
    default:
      throw new EventPatternError(`${path}: the operator ${operator} is not supported by this matcher`);
  }
}

function exactly(matcher: Json, value: Json, path: string): boolean {
  if (Array.isArray(matcher)) throw new EventPatternError(`${path}: a list inside a matcher list, ${show(matcher)}`);
  if (typeof matcher === 'number') return typeof value === 'number' && value === matcher;
  return matcher === value;
}

function affix(operator: 'prefix' | 'suffix', arg: Json, value: Json, path: string): boolean {
  // EventBridge also accepts {prefix: {equals-ignore-case: "…"}}.
  let text = arg;
  let fold = false;
  if (isObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    text = arg['equals-ignore-case'];
    fold = true;
  }
  if (typeof text !== 'string') throw new EventPatternError(`${path}: ${operator} takes a string`);
  if (typeof value !== 'string') return false;
  const [v, t] = fold ? [value.toLowerCase(), text.toLowerCase()] : [value, text];
  return operator === 'prefix' ? v.startsWith(t) : v.endsWith(t);
}

function anythingBut(arg: Json, value: Json, path: string): boolean {
  if (isObject(arg)) {
    const [operator, ...extra] = Object.keys(arg);
    if (extra.length > 0 || (operator !== 'prefix' && operator !== 'suffix' && operator !== 'equals-ignore-case'))
      throw new EventPatternError(`${path}: anything-but takes a value, a list, or one of prefix, suffix`);
    return !leafMatches(arg, value, path);
  }
  const excluded = Array.isArray(arg) ? arg : [arg];
  if (excluded.length === 0) throw new EventPatternError(`${path}: anything-but takes a non-empty list`);
  return !excluded.some((x) => exactly(x, value, path));
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function numeric(arg: Json, value: Json, path: string): boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0)
    throw new EventPatternError(`${path}: numeric takes pairs of operator and number, e.g. [">", 0, "<=", 5]`);
  if (typeof value !== 'number') return false;
  for (let i = 0; i < arg.length; i += 2) {
    const compare = COMPARE[String(arg[i])];
    const bound = arg[i + 1];
    if (!compare || typeof bound !== 'number')
      throw new EventPatternError(`${path}: numeric takes pairs of operator and number, not ${show(arg)}`);
    if (!compare(value, bound)) return false;
  }
  return true;
}

const show = (v: Json): string => JSON.stringify(v);
