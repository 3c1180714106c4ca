export * from './types.js';
export { classifyRecord } from './classify.js';
export { unwrapDocument, unwrapEventBridge, type InputItem, type SourcedRecord, type SourcedRejection } from './envelope.js';
export { readInputs, readInputFile, listInputFiles, DEFAULT_READ_OPTIONS, type ReadOptions } from './read-inputs.js';
export { parseCloudTrailExpiration, parseCloudTrailEventTime, formatIsoUtc } from './time.js';
export { parseRoleArn, accountOfArn, roleArnFromErrorMessage } from './arn.js';
