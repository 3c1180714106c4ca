import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ROOT, SAMPLES_DIR } from '../helpers/fixtures.js';

const SOURCE_DIRS = ['bench', 'bin', 'cli', 'functions', 'lib', 'scripts', 'serverless', 'test'];
const SKIP = /(^|\/)(node_modules|fixtures)(\/|$)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (SKIP.test(relative(ROOT, path))) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|cjs|mjs|json|ya?ml)$/.test(name) ? [path] : [];
  });
}

describe('a fresh clone is self-contained', () => {
  it('keeps its own copy of the published samples, with their provenance', () => {
    const files = readdirSync(SAMPLES_DIR);
    expect(files).toContain('SOURCES.md');
    expect(files.filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(20);
  });

  it('is licensed Apache-2.0, in package.json and in LICENSE', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  it('reads nothing beside the checkout at run or test time', () => {
    const offenders = SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir)))
      .concat(join(ROOT, 'package.json'), join(ROOT, 'serverless.yml'))
      .filter((file) => file !== join(ROOT, 'test', 'unit', 'self-contained.test.ts'))
      .filter((file) => /\.\.\/shared|'\.\.', 'shared'/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(offenders).toEqual([]);
  });
});

describe('the user-facing docs', () => {
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) =>
    f.endsWith('.md'),
  );

  it('never mention internal contracts, the shared folder or CI', () => {
    const offenders = docs.filter((f) =>
      /contract §|\.\.\/shared|\.ci\/run|\bCI\b/.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('keep the README short, with the two commands and every section a newcomer needs', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(220);
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    for (const heading of [
      'Two commands',
      'tour',
      'Deploying',
      'Permissions the deployer needs',
      'costs',
      'Onboarding',
      'Uninstalling',
    ])
      expect(readme).toMatch(new RegExp(`^##+ .*${heading}`, 'm'));
  });

  it('link only to files that exist', () => {
    const broken = docs.flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)]
        .map((m) => join(ROOT, f.includes('/') ? 'docs' : '', m[1]!))
        .filter((target) => {
          try {
            statSync(target);
            return false;
          } catch {
            return true;
          }
        })
        .map((target) => `${f} → ${relative(ROOT, target)}`),
    );
    expect(broken).toEqual([]);
  });
});

describe('docs/registry.md', () => {
  it('documents every field the registry file accepts', async () => {
    const { REGISTRY_FIELDS } = await import('../../lib/registry/validate.js');
    const doc = readFileSync(join(ROOT, 'docs', 'registry.md'), 'utf8');
    const undocumented = Object.entries(REGISTRY_FIELDS).flatMap(([where, fields]) =>
      fields.filter((f) => !doc.includes(`| \`${f}\``)).map((f) => `${where}.${f}`),
    );
    expect(undocumented).toEqual([]);
    expect(Object.values(REGISTRY_FIELDS).flat().length).toBeGreaterThanOrEqual(18);
  });
});
