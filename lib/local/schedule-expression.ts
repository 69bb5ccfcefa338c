// Parses EventBridge rule and EventBridge Scheduler schedule expressions and computes when they fire, as AWS does.
export * from '../../functions/shared/schedule-expression.ts';
