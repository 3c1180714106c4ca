/** The CloudWatch namespace of roleguard's own metrics; the `Stack` dimension tells deployments apart. */
export const METRICS_NAMESPACE = 'roleguard';

/**
 * Emit metrics in CloudWatch Embedded Metric Format: one JSON line on stdout, which CloudWatch Logs turns into
 * metrics (no API call, no permission beyond writing the function's logs). Nothing is written where
 * ROLEGUARD_STACK is not set (local runs, the CLI).
 */
export function emitMetrics(
  values: Record<string, number>,
  env: Record<string, string | undefined> = process.env,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void {
  const stack = env.ROLEGUARD_STACK?.trim();
  if (!stack) return;
  write(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['Stack']],
            Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
          },
        ],
      },
      Stack: stack,
      ...values,
    }),
  );
}
