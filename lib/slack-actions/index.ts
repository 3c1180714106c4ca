export { type ActionDeps, DecisionInProgress, isApprover, performSlackAction } from './act.js';
export { actionLabel, actionsBlock, actionsFor } from './buttons.js';
export {
  createDecisionStore,
  DECISION_LEASE_MS,
  type DecisionStore,
  decisionsTableDefinition,
} from './decisions.js';
export { acceptHandover, type HandoverDeps, parseHandover } from './handover.js';
export { decisionLine, ephemeralNote, type SlackReply, updatedAlertMessage } from './message.js';
export { parseSlackClick } from './payload.js';
export { type ReceiverDeps, receiveSlackAction } from './receive.js';
export { slackActionsHttpHandler } from './receiver-handler.js';
export { isSlackResponseUrl, SLACK_RESPONSE_ORIGIN, slackResponder } from './respond.js';
export type { Decision, SlackActionKind, SlackActionRequest, SlackHandover } from './types.js';
export { checkSlackSignature, SlackRequestRejected, slackSignature, verifySlackRequest } from './verify.js';
export { slackActionHandler } from './worker-handler.js';
