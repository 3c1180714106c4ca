import { readFile } from 'node:fs/promises';
import { type Registry, RegistryError } from '../lib/registry/index.js';
import { parseRegistryText } from '../lib/registry/text.js';

/** Read and validate a registry file; the error names the file, the role and the field. */
export async function readRegistryFile(path: string): Promise<{ registry: Registry } | { error: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return {
      error: `cannot read the registry ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    };
  }
  try {
    return { registry: parseRegistryText(text, path) };
  } catch (error) {
    if (error instanceof RegistryError) return { error: error.message };
    throw error;
  }
}
