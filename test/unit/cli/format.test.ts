import { describe, expect, it } from '@jest/globals';
import { formatBytes, formatCount, formatDuration, formatTime, plural } from '../../../cli/format.js';

describe('cli/format: one format for each kind of value', () => {
  it('counts with thousands separators, whatever the locale', () => {
    expect([0, 7, 999, 1000, 12345, 1234567, -4321].map(formatCount)).toEqual([
      '0',
      '7',
      '999',
      '1,000',
      '12,345',
      '1,234,567',
      '-4,321',
    ]);
  });

  it('puts nouns in the plural the count asks for', () => {
    expect(plural(0, 'file')).toBe('0 files');
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(2, 'record')).toBe('2 records');
    expect(plural(1, 'guarded role')).toBe('1 guarded role');
    expect(plural(1500, 'entry', 'entries')).toBe('1,500 entries');
    expect(plural(1, 'entry', 'entries')).toBe('1 entry');
  });

  it('prints instants as ISO-8601 UTC to the second, milliseconds only when there are some', () => {
    expect(formatTime('2026-11-02T10:05:01.000Z')).toBe('2026-11-02T10:05:01Z');
    expect(formatTime('2026-11-02T10:05:01Z')).toBe('2026-11-02T10:05:01Z');
    expect(formatTime('2026-11-02T11:05:01+01:00')).toBe('2026-11-02T10:05:01Z');
    expect(formatTime(new Date(Date.UTC(2026, 10, 2, 10, 5, 1, 250)))).toBe('2026-11-02T10:05:01.250Z');
    expect(formatTime(null)).toBe('-');
    expect(formatTime('not a time')).toBe('not a time');
  });

  it('prints durations rounded up to whole seconds', () => {
    expect([0, 1, 999, 1000, 45_000, 59_001, 185_000, 3_600_000, 7_380_000].map(formatDuration)).toEqual([
      '0s',
      '1s',
      '1s',
      '1s',
      '45s',
      '1m 00s',
      '3m 05s',
      '1h 00m',
      '2h 03m',
    ]);
  });

  it('prints sizes in binary units', () => {
    expect([0, 512, 1536, 5 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '512 B',
      '1.5 KiB',
      '5.0 MiB',
      '3.0 GiB',
    ]);
  });
});
