export { accountOfArn, parseRoleArn, roleArnFromErrorMessage } from './arn.js';
export { classifyRecord, relevantKind } from './classify.js';
export {
  type InputItem,
  type SourcedRecord,
  type SourcedRejection,
  unwrapDocument,
  unwrapEventBridge,
} from './envelope.js';
export { DEFAULT_READ_OPTIONS, listInputFiles, type ReadOptions, readInputFile, readInputs } from './read-inputs.js';
export { formatIsoUtc, parseCloudTrailEventTime, parseCloudTrailExpiration } from './time.js';
export * from './types.js';
