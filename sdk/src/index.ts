export { authMiddleware, createClient, errorMiddleware, MeshtuneClient } from './client.js';
export type { ClientOptions, LeaseResult, RawClient } from './client.js';
export {
  ApiError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  ConnectionTimeoutError,
  ERROR_STATUS,
  hasErrorCode,
  HeadersTooLargeError,
  InternalServerError,
  MeshtuneError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  RequestTimeoutError,
  ServiceUnavailableError,
  UnreadableReplyError,
  UnsupportedMediaTypeError,
  WaitTimeoutError,
} from './errors.js';
export type { ApiErrorBody, ApiErrorFor, ErrorClassByStatus, ErrorCode } from './errors.js';
export type { RetryOptions } from './retry.js';
export type * from './types.js';
export type { WaitForStudyOptions } from './wait.js';
export {
  classifyFailure,
  EARLY_STOPPED,
  EarlyStoppedError,
  EvaluationTimeoutError,
  InvalidEvaluationError,
  OutOfGpuMemoryError,
  RetryableEvaluationError,
  RunnerFailureError,
} from './worker.js';
export type {
  Evaluate,
  EvaluateContext,
  Evaluation,
  FailureClass,
  RunWorkerOptions,
  TrialOutcome,
  WorkerSummary,
} from './worker.js';
