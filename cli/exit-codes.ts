/** Exit statuses of the roleguard command. */
export const EXIT = {
  /** The command completed (a replay with rejected inputs still completed). */
  ok: 0,
  /** It could not run: DynamoDB unreachable, Java missing, an AWS error. */
  failed: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** `roleguard audit` found posture problems. */
  problems: 3,
  /** Interrupted by Ctrl-C or SIGTERM; stopped cleanly. */
  interrupted: 130,
} as const;
