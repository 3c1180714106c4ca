/**
 * The two spoke templates, rendered from the same patterns as the hub's rules (lib/org/patterns.ts): the CLI writes
 * them (`roleguard org templates`), and the hub's StackSets take them as TemplateBody through serverless/org.cjs.
 */
import { type SpokeGlobalOptions, spokeGlobalTemplate } from './spoke-global.js';
import { type SpokeRegionalOptions, spokeRegionalTemplate } from './spoke-regional.js';

export {
  GUARDED_TAG,
  PROTECTED_ROLE_PATTERNS,
  SPOKE_READ_ACTIONS,
  SPOKE_WRITE_ACTIONS,
  type SpokeGlobalOptions,
  spokeGlobalTemplate,
} from './spoke-global.js';
export type { CfnParameter, CfnTemplate, SpokeDefaults } from './spoke-parts.js';
export {
  FORWARD_RETRY_POLICY,
  IAM_EVENTS_REGION,
  type SpokeRegionalOptions,
  STS_RULE_STATE,
  spokeRegionalTemplate,
} from './spoke-regional.js';

/** The file names `roleguard org templates` writes. */
export const SPOKE_TEMPLATE_FILES = { global: 'spoke-global.json', regional: 'spoke-regional.json' } as const;

/** The Region the global spoke is deployed in (IAM is global; its one stack per account lives there). */
export const GLOBAL_SPOKE_REGION = 'us-east-1';

/** The global spoke template as a JSON string (a StackSet's TemplateBody, or the file the CLI writes). */
export function spokeGlobalTemplateBody(options: SpokeGlobalOptions = {}): string {
  return `${JSON.stringify(spokeGlobalTemplate(options), null, 2)}\n`;
}

/** The regional spoke template as a JSON string. */
export function spokeRegionalTemplateBody(options: SpokeRegionalOptions = {}): string {
  return `${JSON.stringify(spokeRegionalTemplate(options), null, 2)}\n`;
}
