// The EventBridge pattern matcher now lives with the runtime code (journeys match patterns too); kept for old imports.
export * from '../../functions/shared/event-pattern.ts';
