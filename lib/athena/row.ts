import { CLOUDTRAIL_COLUMNS, type Column } from './columns.js';

/** A row turned back into a CloudTrail record, or the reason it could not be. */
export type RowConversion = { record: Record<string, unknown> } | { rejected: string };

const RECORD_KEYS = ['eventID', 'eventTime', 'eventName', 'eventSource'];

class RowError extends Error {
  override name = 'RowError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether a parsed JSON object is a row of Athena's CloudTrail table (lower-case columns, as `UNLOAD … WITH (format =
 * 'JSON')` writes them) rather than a CloudTrail record, whose names are camel-case.
 */
export function isAthenaRow(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  if (RECORD_KEYS.some((k) => Object.hasOwn(value, k))) return false;
  return RECORD_KEYS.some((k) => Object.hasOwn(value, k.toLowerCase()));
}

function convertValue(column: Column, value: unknown, path: string): unknown {
  const { type } = column;
  switch (type.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw new RowError(`${path} is ${Array.isArray(value) ? 'an array' : typeof value}, expected a string`);
    case 'json':
      // The table keeps these nested objects as their JSON text; an export that kept the object is fine too.
      if (isPlainObject(value)) return value;
      if (typeof value !== 'string') throw new RowError(`${path} is ${typeof value}, expected JSON text`);
      try {
        return JSON.parse(value);
      } catch {
        throw new RowError(`${path} is not valid JSON`);
      }
    case 'map':
      if (!isPlainObject(value)) throw new RowError(`${path} is not an object`);
      return value;
    case 'struct':
      if (!isPlainObject(value)) throw new RowError(`${path} is not an object`);
      return convertFields(type.fields, value, `${path}.`);
    case 'array':
      if (!Array.isArray(value)) throw new RowError(`${path} is not an array`);
      return value.map((item, i) => {
        if (!isPlainObject(item)) throw new RowError(`${path}[${i}] is not an object`);
        return convertFields(type.of, item, `${path}[${i}].`);
      });
  }
}

/** Rename lower-case fields back to CloudTrail's names; fields the table does not have are left out. */
function convertFields(columns: Column[], row: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of columns) {
    const key = column.name.toLowerCase();
    const value = row[key];
    // UNLOAD leaves null columns out; a null that is written anyway means the same.
    if (value === undefined || value === null) continue;
    out[column.name] = convertValue(column, value, `${prefix}${key}`);
  }
  return out;
}

/**
 * Turn one row of Athena's CloudTrail table back into the CloudTrail record it was read from: names as CloudTrail
 * writes them, `requestParameters`, `responseElements` and the other JSON columns parsed, `readOnly` a boolean.
 * A web-identity caller's `identityProvider`, missing from AWS's documented table, is taken from the response's
 * `provider`, which names the same provider. Pure; never throws.
 */
export function athenaRowToRecord(row: unknown): RowConversion {
  if (!isPlainObject(row)) return { rejected: 'Athena row: not an object' };
  try {
    const record = convertFields(CLOUDTRAIL_COLUMNS, row, '');
    if (record.readOnly === 'true' || record.readOnly === 'false') record.readOnly = record.readOnly === 'true';
    const identity = record.userIdentity;
    const response = record.responseElements;
    if (
      isPlainObject(identity) &&
      identity.identityProvider === undefined &&
      isPlainObject(response) &&
      typeof response.provider === 'string'
    )
      identity.identityProvider = response.provider;
    return { record };
  } catch (error) {
    if (error instanceof RowError) return { rejected: `Athena row: ${error.message}` };
    throw error;
  }
}
