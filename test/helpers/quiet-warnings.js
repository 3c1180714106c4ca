// The AWS SDK warns under Node 20 about its future support window, once per client module; the project supports
// Node >= 20 (Lambda runs 22), so the notice is dropped from test output. Every other warning still shows.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (String(warning?.message ?? warning).startsWith('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
};
