// Maps a day count from configuration onto the retention periods CloudWatch Logs accepts.
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

const ALLOWED: readonly number[] = Object.values(RetentionDays).filter(
  (v): v is number => typeof v === 'number' && v > 0,
);

/** The shortest allowed retention that keeps logs at least `days` days. */
export function retentionDays(days: number): RetentionDays {
  const sorted = [...ALLOWED].sort((a, b) => a - b);
  const chosen = sorted.find((allowed) => allowed >= days) ?? sorted[sorted.length - 1];
  if (chosen === undefined) throw new Error('no CloudWatch Logs retention periods known');
  return chosen;
}
