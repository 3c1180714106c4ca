export {
  addOtherCopy,
  issuedSortKey,
  type SessionView,
  sessionKey,
  sessionViewOf,
  sharedSessionKey,
  toSessionItem,
  toSessionView,
  ttlSeconds,
} from './item.js';
export { createSessionStore, type OtherCopy, type RecordOutcome, type SessionStore, type TimeRange } from './store.js';
export { SESSION_INDEX, SESSION_TTL_ATTRIBUTE, sessionsTableDefinition } from './table.js';
