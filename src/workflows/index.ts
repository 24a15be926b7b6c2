// Workflow entry points registered by the worker (bundled; deterministic code only).
export { syncWorkflow } from './sync';
export { conflictWorkflow } from './conflict';
export { reconcileWorkflow, renewChannelsWorkflow } from './maintenance';
