export { createSessionStore, type SessionStore, type RecordOutcome, type TimeRange } from './store.js';
export { sessionsTableDefinition, SESSION_INDEX, SESSION_TTL_ATTRIBUTE } from './table.js';
export { toSessionItem, toSessionView, sessionViewOf, ttlSeconds, sessionKey, issuedSortKey, type SessionView } from './item.js';
