import createFetchClient, { type Client, type Middleware } from 'openapi-fetch';
import { apiErrorFromResponse, hasErrorCode, UnreadableReplyError } from './errors.js';
import type { paths } from './generated/openapi.js';
import { DEFAULT_MAX_REPLY_BYTES, pathSerializer, ReplyReader } from './reply.js';
import { raceAbort } from './abort.js';
import { parseRetryAfter, retryingFetch, type RetryOptions } from './retry.js';
import type {
  CompleteTrialOptions,
  CreateProjectRequest,
  CreateStudyRequest,
  FailureKind,
  GpuSeconds,
  EngineState,
  History,
  HistoryFormat,
  ImportNomadStudyRequest,
  ImportNomadStudyResult,
  Lease,
  ParameterValues,
  Project,
  RegisterRunnerRequest,
  RegisteredRunner,
  Study,
  StudyStatus,
  Trial,
  TrialHeartbeat,
  TrialHeartbeatResponse,
  TrialStatus,
} from './types.js';
import { waitForStudy, type WaitForStudyOptions } from './wait.js';
import { runWorker, type Evaluate, type RunWorkerOptions, type WorkerSummary } from './worker.js';

export interface ClientOptions {
  /** e.g. `http://localhost:3000` (no `/v1`). */
  baseUrl: string;
  /** An API key (user, runner or admin scope) or a runner token, sent as `Authorization: Bearer …`. */
  apiKey: string;
  /** Retries of idempotent calls (GETs, leases, heartbeats, reports); `{ maxRetries: 0 }` disables. */
  retry?: RetryOptions;
  /**
   * Per-attempt timeout in ms, from sending the request to the reply's last byte (default 60 000;
   * 0 disables: then only `maxReplyBytes` bounds a reply).
   */
  timeoutMs?: number;
  /** Bytes of one reply read at most (default 16 MiB); a larger one throws `UnreadableReplyError`. */
  maxReplyBytes?: number;
  /** A custom `fetch` (tests, proxies); default: the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

/** The raw typed client: every path of the OpenAPI document; errors throw typed `ApiError`s. */
export type RawClient = Client<paths, 'application/json'>;

/** Lease outcome: a trial to run, or nothing now (wait `retryAfterMs`, then ask again). */
export type LeaseResult =
  { kind: 'leased'; lease: Lease } | { kind: 'wait'; retryAfterMs: number; studyStatus: StudyStatus | null };

/** Sets the bearer token on every request. */
export function authMiddleware(apiKey: string): Middleware {
  return {
    onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${apiKey}`);
      return request;
    },
  };
}

/**
 * Turns every error status into the typed `ApiError` subclass for it, and a success whose body is
 * to be read as JSON but is not (a proxy's HTML page, a cut body) into an `UnreadableReplyError`
 * instead of the `SyntaxError` openapi-fetch's `JSON.parse` would throw.
 */
export const errorMiddleware: Middleware = {
  async onResponse({ request, response, options }) {
    if (!response.ok) throw await apiErrorFromResponse(response);
    if (options.parseAs !== 'json' || response.status === 204) return undefined;
    const text = await response.clone().text();
    if (text === '') return undefined;
    try {
      JSON.parse(text);
    } catch {
      const type = response.headers.get('content-type') ?? 'no content-type';
      const excerpt = text.slice(0, 100).replace(/\s+/g, ' ');
      throw new UnreadableReplyError(
        `${request.method} ${new URL(request.url).pathname}: the HTTP ${response.status} reply is not JSON (${type}): ${excerpt}`,
        response.status,
        request.url,
      );
    }
    return undefined;
  },
};

/** openapi-fetch gives `data: T | undefined`; once errors throw, a success without a body is not the API's. */
function required<T>(result: { data?: T; response: Response }): T {
  if (result.data === undefined) {
    throw new UnreadableReplyError(
      `${result.response.url}: expected a response body, got HTTP ${result.response.status} without one`,
      result.response.status,
      result.response.url,
    );
  }
  return result.data;
}

/** The longest lease the API grants (create-study.dto.ts `leaseSeconds` ≤ 86 400). */
const MAX_LEASE_SECONDS = 86_400;

/**
 * The fields of a lease `runWorker` reads, checked (finding 44): ids that go into URLs are plain
 * names, the lease length bounds heartbeats and report retries, parameters and outputs are what
 * `evaluate` is given and checked against.
 */
function checkLease(reply: ReplyReader, value: unknown): Lease {
  const lease = reply.object(value, 'body');
  const trial = reply.object(lease.trial, 'trial');
  reply.id(trial.id, 'trial.id');
  reply.object(trial.parameters, 'trial.parameters');
  reply.number(lease.leaseSeconds, 'leaseSeconds', 1, MAX_LEASE_SECONDS);
  if (!Array.isArray(lease.outputs)) reply.fail('outputs', 'an array', lease.outputs);
  lease.outputs.forEach((output: unknown, index) => {
    const entry = reply.object(output, `outputs[${index}]`);
    reply.string(entry.name, `outputs[${index}].name`);
    reply.string(entry.type, `outputs[${index}].type`);
  });
  if (lease.trainingConfig !== null && lease.trainingConfig !== undefined) {
    reply.object(lease.trainingConfig, 'trainingConfig');
  }
  return value as Lease;
}

/** A report's (complete, fail, release) reply: the trial, of which `runWorker` reads the status. */
function checkTrial(reply: ReplyReader, value: unknown): Trial {
  const trial = reply.object(value, 'body');
  reply.string(trial.status, 'status');
  return value as Trial;
}

const STUDY_STATUSES: readonly string[] = [
  'active',
  'paused',
  'completed',
  'failed',
  'stopped',
] satisfies StudyStatus[];

export class MeshtuneClient {
  /** Every endpoint, typed from the OpenAPI document, for calls the helpers do not cover. */
  readonly api: RawClient;
  readonly options: Readonly<ClientOptions>;

  constructor(options: ClientOptions) {
    this.options = { ...options };
    this.api = createFetchClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      fetch: retryingFetch(options.fetch ?? ((request) => fetch(request)), options.retry ?? {}, {
        timeoutMs: options.timeoutMs ?? 60_000,
        maxReplyBytes: options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
      }),
      pathSerializer,
    });
    this.api.use(authMiddleware(options.apiKey), errorMiddleware);
  }

  /** The same client with another key (e.g. the runner token `registerRunner` returns). */
  withApiKey(apiKey: string): MeshtuneClient {
    return new MeshtuneClient({ ...this.options, apiKey });
  }

  // Studies

  async createStudy(body: CreateStudyRequest): Promise<Study> {
    return required(await this.api.POST('/v1/studies', { body }));
  }

  /** Creates a study from a NOMAD 4 parameter file's text; `ignoredKeywords` lists what meshtune does not use. */
  async importNomadStudy(body: ImportNomadStudyRequest): Promise<ImportNomadStudyResult> {
    return required(await this.api.POST('/v1/studies/import/nomad', { body }));
  }

  /** `options.signal` cancels the request (the call rejects with the signal's reason). */
  async getStudy(studyId: string, options: { signal?: AbortSignal } = {}): Promise<Study> {
    return required(
      await raceAbort(
        this.api.GET('/v1/studies/{studyId}', { params: { path: { studyId } }, signal: options.signal }),
        options.signal,
      ),
    );
  }

  /** Studies of the key's project; an admin key sees every project, or the one `projectId` names. */
  async listStudies(query: { status?: StudyStatus; projectId?: string; limit?: number; offset?: number } = {}) {
    return required(await this.api.GET('/v1/studies', { params: { query } }));
  }

  async pauseStudy(studyId: string): Promise<Study> {
    return required(await this.api.POST('/v1/studies/{studyId}/pause', { params: { path: { studyId } } }));
  }

  async resumeStudy(studyId: string): Promise<Study> {
    return required(await this.api.POST('/v1/studies/{studyId}/resume', { params: { path: { studyId } } }));
  }

  async stopStudy(studyId: string): Promise<Study> {
    return required(await this.api.POST('/v1/studies/{studyId}/stop', { params: { path: { studyId } } }));
  }

  /**
   * Deletes a finished study (completed, failed or stopped) with its trials, metrics and engine
   * state, freeing room in the project's `maxStoredStudies`; an active or paused one is refused
   * (ConflictError, code STUDY_NOT_FINISHED): stop it first.
   */
  async deleteStudy(studyId: string): Promise<void> {
    // 204 on success; the error middleware throws every refusal (404, 409) as its ApiError.
    await this.api.DELETE('/v1/studies/{studyId}', { params: { path: { studyId } } });
  }

  /** Polls the study until it is `completed`, `failed` or `stopped`, calling `onProgress` when it changes. */
  waitForStudy(studyId: string, options: WaitForStudyOptions = {}): Promise<Study> {
    return waitForStudy(this, studyId, options);
  }

  /** The best completed trial so far (feasible first), or null while there is none. */
  async bestTrial(studyId: string): Promise<Trial | null> {
    try {
      return required(await this.api.GET('/v1/studies/{studyId}/best', { params: { path: { studyId } } }));
    } catch (error) {
      // An unknown study is STUDY_NOT_FOUND; the generic 404 code here means "no result yet".
      if (hasErrorCode(error, 'NOT_FOUND')) return null;
      throw error;
    }
  }

  /**
   * Where the best completed trial's trained adapter lies (the location its runner reported: a
   * path or URL), or null while there is no result or the best trial's runner kept none.
   */
  async bestAdapter(studyId: string): Promise<string | null> {
    return (await this.bestTrial(studyId))?.adapter?.location ?? null;
  }

  /** The engine's iteration, frame and mesh sizes, and stop reason. */
  async engineState(studyId: string): Promise<EngineState> {
    return required(await this.api.GET('/v1/studies/{studyId}/engine', { params: { path: { studyId } } }));
  }

  /**
   * Finished trials in evaluation order: as objects (`json`, the default: every page, followed by
   * its cursor) or as the API's CSV / NOMAD history text.
   */
  exportHistory(studyId: string, format?: 'json'): Promise<Trial[]>;
  exportHistory(studyId: string, format: 'csv' | 'nomad'): Promise<string>;
  async exportHistory(studyId: string, format: HistoryFormat = 'json'): Promise<Trial[] | string> {
    if (format === 'json') {
      const trials: Trial[] = [];
      const seen = new Set<string>();
      let cursor: string | undefined;
      do {
        const result = await this.api.GET('/v1/studies/{studyId}/history', {
          params: { path: { studyId }, query: { format: 'json', cursor } },
        });
        const reply = new ReplyReader(`GET /v1/studies/${studyId}/history`, result.response);
        const page = reply.object(result.data, 'body');
        const items = Array.isArray(page.items) ? (page.items as Trial[]) : reply.fail('items', 'an array', page.items);
        // One by one: spreading a page of millions of items (16 MiB of `{}`) overflows the stack.
        for (const item of items) trials.push(item);
        cursor =
          page.nextCursor === null || page.nextCursor === undefined
            ? undefined
            : reply.string(page.nextCursor, 'nextCursor');
        // A cursor met before, or one after an empty page, would follow pages for ever.
        if (cursor !== undefined && (seen.has(cursor) || items.length === 0)) {
          reply.fail('nextCursor', 'a cursor not met before, after a page of trials', cursor);
        }
        if (cursor !== undefined) seen.add(cursor);
      } while (cursor !== undefined);
      return trials;
    }
    const params = { path: { studyId }, query: { format } };
    const text: unknown = required(await this.api.GET('/v1/studies/{studyId}/history', { params, parseAs: 'text' }));
    return String(text);
  }

  /** One page of the history (at most `limit`, 500 by default); pass `nextCursor` back for the next. */
  async historyPage(studyId: string, query: { limit?: number; cursor?: string } = {}): Promise<History> {
    return required(
      await this.api.GET('/v1/studies/{studyId}/history', {
        params: { path: { studyId }, query: { format: 'json', ...query } },
      }),
    );
  }

  // Trials

  async listTrials(studyId: string, query: { status?: TrialStatus; limit?: number; offset?: number } = {}) {
    return required(await this.api.GET('/v1/studies/{studyId}/trials', { params: { path: { studyId }, query } }));
  }

  /** Enqueues a point of your own; it is leased before the engine's next suggestion. */
  async enqueueTrial(studyId: string, parameters: ParameterValues): Promise<Trial> {
    return required(
      await this.api.POST('/v1/studies/{studyId}/trials', { params: { path: { studyId } }, body: { parameters } }),
    );
  }

  async getTrial(trialId: string): Promise<Trial> {
    return required(await this.api.GET('/v1/trials/{trialId}', { params: { path: { trialId } } }));
  }

  // Projects (docs/architecture.md, "Projects")

  /** Projects with their quotas and usage: every one for an admin key, its own for a user key. */
  async listProjects(query: { limit?: number; offset?: number } = {}) {
    return required(await this.api.GET('/v1/projects', { params: { query } }));
  }

  /** Admin key: a new project; give it keys with `POST /v1/api-keys` `{scope, projectId}`. */
  async createProject(body: CreateProjectRequest): Promise<Project> {
    return required(await this.api.POST('/v1/projects', { body }));
  }

  // Runner protocol (runner-scope key for `registerRunner`, the runner token for the rest)

  async registerRunner(body: RegisterRunnerRequest, options: { signal?: AbortSignal } = {}): Promise<RegisteredRunner> {
    const result = await raceAbort(this.api.POST('/v1/runners', { body, signal: options.signal }), options.signal);
    const reply = new ReplyReader('POST /v1/runners', result.response);
    const registered = reply.object(result.data, 'body');
    reply.id(registered.id, 'id');
    // A token is a header value: printable ASCII, no spaces (a newline would end the header).
    if (typeof registered.token !== 'string' || !/^[\x21-\x7e]{1,1000}$/.test(registered.token)) {
      reply.fail('token', 'printable ASCII without spaces', registered.token);
    }
    return registered as RegisteredRunner;
  }

  /**
   * One lease: a trial (optionally of one study), or how long to wait before asking again. A
   * quarantined runner gets a `ConflictError` with code `RUNNER_QUARANTINED` (its `details.reason`
   * says why; its `Retry-After` header when to ask again).
   */
  async lease(runnerId: string, studyId?: string, options: { signal?: AbortSignal } = {}): Promise<LeaseResult> {
    // The caller's signal is raced here too: fetch may stop following it (abort.ts).
    const result = await raceAbort(
      this.api.POST('/v1/runners/{runnerId}/lease', {
        params: { path: { runnerId } },
        body: studyId === undefined ? {} : { studyId },
        signal: options.signal,
      }),
      options.signal,
    );
    if (result.response.status === 200 && result.data !== undefined) {
      const reply = new ReplyReader(`POST /v1/runners/${runnerId}/lease`, result.response);
      return { kind: 'leased', lease: checkLease(reply, result.data) };
    }
    const status = result.response.headers.get('meshtune-study-status');
    return {
      kind: 'wait',
      retryAfterMs: parseRetryAfter(result.response.headers.get('retry-after')) ?? 5_000,
      studyStatus: status !== null && STUDY_STATUSES.includes(status) ? (status as StudyStatus) : null,
    };
  }

  /** `gpuSeconds`: GPU-seconds this trial has used so far (cumulative; see `GpuSeconds`). */
  async heartbeatTrial(trialId: string, body: TrialHeartbeat & GpuSeconds = {}): Promise<TrialHeartbeatResponse> {
    const result = await this.api.POST('/v1/trials/{trialId}/heartbeat', { params: { path: { trialId } }, body });
    const reply = new ReplyReader(`POST /v1/trials/${trialId}/heartbeat`, result.response);
    const heartbeat = reply.object(result.data, 'body');
    // `shouldStop: "maybe"` must not stop a trial, nor a missing field let one run on unasked.
    reply.boolean(heartbeat.shouldStop, 'shouldStop');
    if (heartbeat.reason !== null && heartbeat.reason !== undefined) reply.string(heartbeat.reason, 'reason');
    return heartbeat as TrialHeartbeatResponse;
  }

  /**
   * `options.gpuSeconds`: the trial's total GPU-seconds (see `GpuSeconds`); `options.effectiveConfig`:
   * what the runner trained with; `options.adapter`: where it kept the trained adapter.
   */
  async completeTrial(
    trialId: string,
    outputs: Record<string, number>,
    options: CompleteTrialOptions = {},
  ): Promise<Trial> {
    const body: { outputs: Record<string, number> } & CompleteTrialOptions = { outputs, ...options };
    const result = await this.api.POST('/v1/trials/{trialId}/complete', { params: { path: { trialId } }, body });
    return checkTrial(new ReplyReader(`POST /v1/trials/${trialId}/complete`, result.response), result.data);
  }

  /**
   * Reports a failure: `kind: 'evaluation'` (default; the point is bad, counted in the budget;
   * `retryable` for a transient one), `kind: 'runner'` (this machine cannot run trials: the
   * trial goes back to the queue, budget and attempts untouched) or `kind: 'resource'` (out of
   * GPU memory: the trial goes to a runner with more memory per GPU, budget and attempts
   * untouched, or fails as an evaluation when no runner has more).
   */
  async failTrial(
    trialId: string,
    error: string,
    options: { kind?: FailureKind; retryable?: boolean } & GpuSeconds = {},
  ): Promise<Trial> {
    const body: { error: string; kind?: FailureKind; retryable?: boolean } & GpuSeconds = {
      error,
      ...options,
    };
    const result = await this.api.POST('/v1/trials/{trialId}/fail', { params: { path: { trialId } }, body });
    return checkTrial(new ReplyReader(`POST /v1/trials/${trialId}/fail`, result.response), result.data);
  }

  /** Gives an unfinished trial back; `usage.gpuSeconds`: what the attempt used up to now (kept on the trial). */
  async releaseTrial(trialId: string, usage: GpuSeconds = {}): Promise<Trial> {
    const result = await this.api.POST('/v1/trials/{trialId}/release', {
      params: { path: { trialId } },
      body: usage,
    });
    return checkTrial(new ReplyReader(`POST /v1/trials/${trialId}/release`, result.response), result.data);
  }

  /**
   * Evaluates the study's trials in this process until the study completes or stops: registers a
   * runner, then `concurrency` ask/tell loops lease, heartbeat and complete (or fail) trials.
   */
  runWorker(studyId: string, evaluate: Evaluate, options: RunWorkerOptions = {}): Promise<WorkerSummary> {
    return runWorker(this, studyId, evaluate, options);
  }
}

export function createClient(options: ClientOptions): MeshtuneClient {
  return new MeshtuneClient(options);
}
