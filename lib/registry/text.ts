import { parse as parseYaml } from 'yaml';
import type { Registry } from './types.js';
import { RegistryError, validateRegistry } from './validate.js';

// Apart from validate.ts, so that the functions, which never read YAML, do not bundle a YAML parser.
/** Parse registry text (YAML or JSON) and validate it. */
export function parseRegistryText(text: string, source: string): Registry {
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new RegistryError(source, [`not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`]);
  }
  return validateRegistry(document, source);
}
