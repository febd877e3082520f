/**
 * Early stopping of trials whose learning curve shows they cannot be of use (docs/algorithm.md,
 * "Early stopping"). Pure and dependency-free: the trials service asks `decideEarlyStop` on each
 * heartbeat and validates a study's policy with `parseStoppingPolicy` at creation.
 */
export * from './stopping-policy';
export * from './curve-extrapolation';
export * from './calibration';
export * from './stopping-decision';
export * from './pause-and-resume';
export * from './stored-curve';
