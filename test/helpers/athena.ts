import { CLOUDTRAIL_COLUMNS, type Column } from '../../lib/athena/columns.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function toCell(column: Column, value: unknown, dropped: Set<string>): unknown {
  const { type } = column;
  switch (type.kind) {
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'json':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'map':
      return value;
    case 'struct':
      return isObject(value) ? toRow(type.fields, value, dropped) : undefined;
    case 'array':
      return Array.isArray(value) ? value.map((v) => (isObject(v) ? toRow(type.of, v, dropped) : {})) : undefined;
  }
}

function toRow(columns: Column[], record: Record<string, unknown>, dropped: Set<string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const column of columns) {
    if (dropped.has(column.name)) continue;
    const value = record[column.name];
    if (value === undefined || value === null) continue; // UNLOAD leaves null columns out
    const cell = toCell(column, value, dropped);
    if (cell !== undefined) row[column.name.toLowerCase()] = cell;
  }
  return row;
}

/**
 * A CloudTrail record as Athena's CloudTrail table returns it through `UNLOAD … WITH (format = 'JSON')`: lower-case
 * names, fields the table lacks gone, JSON columns as text, `readonly` a string, nulls left out. `documented: true`
 * models AWS's documented table, which has no `useridentity.identityprovider`.
 */
export function recordToAthenaRow(record: Record<string, unknown>, documented = false): Record<string, unknown> {
  return toRow(CLOUDTRAIL_COLUMNS, record, new Set(documented ? ['identityProvider'] : []));
}
