/**
 * Generated from api/openapi.json by sdk/scripts/generate.mjs. Do not edit by hand:
 * run `npm run generate -w sdk` after changing the API.
 */

export interface paths {
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process answers, and so does the embedded PostgreSQL it supervises (503 while it restarts). */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the database answers too. */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Keys that are not revoked (never the keys themselves). */
        get: operations["listApiKeys"];
        put?: never;
        /** Create a key (a `user` or `runner` key in `projectId`, default the default project); the response is the only time the key is shown. */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/api-keys/{keyId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke a key at once, with the runner tokens registered with it. */
        delete: operations["deleteApiKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Projects with their quotas and usage: every one for an admin key, its own for a user key. */
        get: operations["listProjects"];
        put?: never;
        /** Create a project (admin); give it keys with POST /v1/api-keys `{projectId}`. */
        post: operations["createProject"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/projects/{projectId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Change a project's quotas (admin): `null` removes one. */
        patch: operations["updateProjectQuotas"];
        trace?: never;
    };
    "/v1/runners": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Runners, most recently seen first. */
        get: operations["listRunners"];
        put?: never;
        /**
         * Register a runner with a runner-scope key; the reply holds the runner token (shown once). A
         *     project holds at most `maxRunners` runners: beyond, runners without a lease unseen for 15
         *     minutes are reclaimed (deleted with their tokens), else 409 `PROJECT_QUOTA_EXCEEDED` with
         *     `details.quota: "maxRunners"`. A runner token registering again updates its own runner.
         */
        post: operations["registerRunner"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runners/{runnerId}/clear-quarantine": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lets a quarantined runner lease again (an operator fixed the machine, or judged the failures
         *     not the machine's); also forgets an unhealthy runner's failure streak.
         */
        post: operations["clearRunnerQuarantine"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runners/{runnerId}/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Runner liveness while idle. */
        post: operations["heartbeatRunner"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runners/{runnerId}/lease": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lease one trial: 200 with the trial, or 204 with `Retry-After` when there is nothing to do
         *     (with `Meshtune-Study-Status` naming the study's status when a study was asked for). A
         *     quarantined runner gets 409 `RUNNER_QUARANTINED` (details: `quarantinedAt`, `reason`) with
         *     `Retry-After`. A runner that holds as many leases as its `maxConcurrentTrials` gets 409
         *     `RUNNER_LEASE_LIMIT` (details: `limit`, `held`, `trialIds`) with `Retry-After`, and nothing is
         *     written. Without `studyId`, every active study with room is reachable, the one with the
         *     fewest running trials relative to its `maxParallelTrials` first.
         */
        post: operations["leaseTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Studies, newest first. */
        get: operations["listStudies"];
        put?: never;
        /** Create a study; it is active at once and runners may lease its trials. */
        post: operations["createStudy"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["getStudy"];
        put?: never;
        post?: never;
        /**
         * Delete a finished study (completed, failed or stopped) with its trials, their metrics and
         *     leases, and its engine state; it frees room in the project's `maxStoredStudies`. An active or
         *     paused study is refused with 409 STUDY_NOT_FINISHED (stop it first). Runners still holding a
         *     lease of its trials get 404 at their next call.
         */
        delete: operations["deleteStudy"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/best": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The best completed trial (feasible first, as the progressive barrier defines it); 404 before any result. */
        get: operations["getBestTrial"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/engine": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The engine's current frame and mesh sizes, iteration and stop reason. */
        get: operations["getEngineState"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Finished trials in evaluation order: JSON one page at a time (follow `nextCursor`), or the
         *     whole history as CSV or NOMAD's history-file format, streamed batch by batch.
         */
        get: operations["getHistory"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/import/nomad-cache": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Warm start: a NOMAD cache file's evaluations become finished trials the engine knows. */
        post: operations["importNomadCache"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** No new leases until resumed; running trials are told to stop at their next heartbeat. */
        post: operations["pauseStudy"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["resumeStudy"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/runner-declines": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Runners that declined the study (they cannot run it by their own settings: a path outside
         *     their folders, no `trainingConfig` for a training runner) and will not lease it meanwhile.
         */
        get: operations["listRunnerDeclines"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** End the study for good (stop reason `user_stopped`). */
        post: operations["stopStudy"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/{studyId}/trials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Trials of a study in number order. */
        get: operations["listTrials"];
        put?: never;
        /** Enqueue a point of your own; it is leased before the engine's next suggestion. */
        post: operations["enqueueTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/studies/import/nomad": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create a study from a NOMAD 4 parameter file; keywords about running NOMAD locally are listed as ignored. */
        post: operations["importNomadStudy"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/trials/{trialId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One trial with its intermediate metrics. */
        get: operations["getTrial"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/trials/{trialId}/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Report the outputs. Repeating the same report returns the same answer; a different one is 409. */
        post: operations["completeTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/trials/{trialId}/decline": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * This runner cannot run the trial's study by its own settings (a path outside its folders, a
         *     study with no `trainingConfig` for a training runner), found before training or by the training
         *     child as it starts (then with the `gpuSeconds` it used): the trial is given back untouched
         *     (budget, attempts, engine, the runner's health) for another runner, and the study is not leased
         *     to this runner for `MESHTUNE_RUNNER_DECLINE_MS`, an hour by default (docs/runner.md, "Studies a
         *     runner cannot run").
         */
        post: operations["declineTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/trials/{trialId}/fail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Report a failed evaluation (or, with `retryable`, a transient failure to retry). */
        post: operations["failTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/trials/{trialId}/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Extend the lease and record intermediate metrics; the reply says whether to stop. */
        post: operations["heartbeatTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/trials/{trialId}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Give an unfinished trial back (runner shutting down, study paused); another lease picks it up.
         *     The body is optional; its `gpuSeconds` counts what the attempt used up to the release.
         */
        post: operations["releaseTrial"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        AlgorithmOptionsDto: {
            /**
             * @description MADS: NOMAD's DIRECTION_TYPE (default `ORTHO N+1 QUAD`).
             * @enum {string}
             */
            directionType?: "ORTHO N+1 QUAD" | "ORTHO 2N";
            /**
             * @description MADS: when a step has handed out all its points and some are still being evaluated, give
             *     idle runners extra poll points instead of nothing (default true; docs/algorithm.md). With
             *     false, leases wait for the results in flight (MESHTUNE_LEASE_WAIT_MS), as NOMAD's evaluator would.
             */
            fillIdle?: boolean;
            /**
             * @description `mads` (NOMAD 4's Mesh Adaptive Direct Search, default) or `random` (seeded uniform sampling).
             * @enum {string}
             */
            name?: "mads" | "random";
            /** @description MADS: NOMAD's NM_SEARCH (default true). */
            nmSearch?: boolean;
            /**
             * @description MADS: `meshtune` (default: keeps parallel runners busy with the next steps, lets late
             *     successes count, restarts on the minimum mesh while budget is left) or `nomad4` (NOMAD 4's
             *     behaviour, as its golden traces check); docs/algorithm.md.
             * @enum {string}
             */
            preset?: "meshtune" | "nomad4";
            /** @description MADS: NOMAD's QUAD_MODEL_SEARCH (default true). */
            quadModelSearch?: boolean;
            /** @description NOMAD's SEED (default 0; NOMAD seeds by skipping that many draws, hence the bound). */
            seed?: number;
            /** @description MADS: NOMAD's SPECULATIVE_SEARCH (default true). */
            speculativeSearch?: boolean;
        };
        AlgorithmSummaryDto: {
            /** @enum {string} */
            name: "mads" | "random";
            seed: number;
        };
        ApiKeyListResponseDto: {
            items: components["schemas"]["ApiKeyResponseDto"][];
            limit: number;
            offset: number;
            total: number;
        };
        ApiKeyResponseDto: {
            createdAt: string;
            id: string;
            /**
             * @description To tell keys apart: `mt_<scope>_` and up to 4 of the random characters of a generated key;
             *     `chosen:` and a fingerprint of the salted hash for MESHTUNE_ADMIN_KEY (none of its characters).
             */
            keyPrefix: string;
            name: string;
            /** @description The project the key acts in; null for admin keys (every project). */
            projectId: string | null;
            /** @description Set for runner tokens. */
            runnerId: string | null;
            /** @enum {string} */
            scope: "admin" | "user" | "runner";
        };
        CompleteTrialDto: {
            /** @description Where the trained adapter lies (kept on the runner's disk, a shared path or an object store URL). */
            adapter?: components["schemas"]["TrialAdapterDto"];
            /**
             * @description The configuration the runner actually trained with: the regime's hash, GPU count and type,
             *     precision, library versions… Opaque JSON of at most 16 KiB, stored on the trial.
             */
            effectiveConfig?: {
                [key: string]: unknown;
            };
            /**
             * @description GPU-seconds used by this attempt in all: GPUs × wall-clock seconds of the training child
             *     (added to the trial's earlier attempts; the study sums trials in `gpuHoursUsed`).
             */
            gpuSeconds?: number;
            /** @description Output values by name: every objective and constraint of the study; extras optional. */
            outputs: {
                [key: string]: number;
            };
        };
        CreateApiKeyDto: {
            /** @description What the key is for, e.g. "ci" or "gpu fleet A". */
            name: string;
            /**
             * Format: uuid
             * @description The project a `user` or `runner` key acts in (default: the default project); not allowed
             *     for `admin` keys, which see every project.
             */
            projectId?: string;
            /**
             * @description `admin` (everything), `user` (studies and trials) or `runner` (register runners).
             * @enum {string}
             */
            scope: "admin" | "user" | "runner";
        };
        CreatedApiKeyResponseDto: {
            createdAt: string;
            id: string;
            /** @description The key: shown in this response only. */
            key: string;
            /**
             * @description To tell keys apart: `mt_<scope>_` and up to 4 of the random characters of a generated key;
             *     `chosen:` and a fingerprint of the salted hash for MESHTUNE_ADMIN_KEY (none of its characters).
             */
            keyPrefix: string;
            name: string;
            /** @description The project the key acts in; null for admin keys (every project). */
            projectId: string | null;
            /** @description Set for runner tokens. */
            runnerId: string | null;
            /** @enum {string} */
            scope: "admin" | "user" | "runner";
        };
        CreateProjectDto: {
            /** @description Most studies with status `active` at once (creating or resuming one more is refused); omitted: no quota. */
            maxActiveStudies?: number | null;
            /** @description Most running trials over all its studies at once (leases wait beyond it); omitted: no quota. */
            maxParallelTrials?: number | null;
            /**
             * @description Most registered runners (a registration beyond it first reclaims runners without a lease
             *     unseen for 15 minutes, else is refused); omitted: 1000.
             */
            maxRunners?: number;
            /**
             * @description Most stored studies of every status (creating one more is refused until a finished study is
             *     deleted); omitted: 1000.
             */
            maxStoredStudies?: number;
            /** @description Unique, e.g. the team's name: letters, digits, `.`, `_`, `-`. */
            name: string;
        };
        CreateStudyDto: {
            algorithm?: components["schemas"]["AlgorithmOptionsDto"];
            budget: components["schemas"]["StudyBudgetDto"];
            /** @description Parameters computed from others, in order; each may use earlier ones. */
            derived?: components["schemas"]["DerivedParameterDto"][];
            /** @description null or absent: no description. */
            description?: string;
            /**
             * @description Early stopping of trials whose learning curve (the heartbeats' metric named like the objective)
             *     shows they cannot be of use. Default: `{ "kind": "curve" }` for MADS, `{ "kind": "none" }` for
             *     random search and NOMAD imports.
             */
            earlyStopping?: {
                [key: string]: unknown;
            } & components["schemas"]["EarlyStoppingPolicyDto"];
            name: string;
            outputs: components["schemas"]["OutputDefinitionDto"][];
            parameters: components["schemas"]["ParameterDefinitionDto"][];
            /**
             * Format: uuid
             * @description The project the study belongs to: only an admin key may name one (default: the default
             *     project); a user key's studies go to its own project.
             */
            projectId?: string;
            /**
             * @description Only runners that registered at least this much memory per GPU (`gpuMemoryMb`, MiB) lease its
             *     trials; a runner that registered none does not qualify.
             */
            requiredRunnerGpuMemoryMb?: number;
            /** @description Only runners that registered at least this many GPUs lease its trials. */
            requiredRunnerGpus?: number;
            /** @description Only runners that registered every one of these labels (e.g. `a100`, `80g`) lease its trials. */
            requiredRunnerLabels?: string[];
            /**
             * @description JSON handed to runners with each trial: model, data paths, epochs, batch sizes, metric… (the
             *     Python runner's schema: docs/runner.md). Stored as given but for `checkpointSteps`, which the
             *     API reads (`earlyStopping.resume` and `revive` need it): a whole number from 1 to 2147483647, or
             *     null; 400 naming `trainingConfig.checkpointSteps` otherwise.
             */
            trainingConfig?: {
                [key: string]: unknown;
            };
            /** @description Starting points (NOMAD's X0) in user values; default: the middle of every range. */
            x0?: {
                [key: string]: number | string;
            }[];
        };
        DeclineTrialDto: {
            /**
             * @description GPU-seconds used by this attempt in all, when the runner found what it lacks only after the
             *     training child had started (e.g. while loading the model): kept like a failure's, added to the
             *     trial's earlier attempts (the study sums trials in `gpuHoursUsed`).
             */
            gpuSeconds?: number;
            /**
             * @description Why this runner cannot run the study, for people (e.g. "trainData: a local path this runner
             *     does not allow"): shown with the study's declines. One line of printable text, at most
             *     MAX_DECLINE_REASON_LENGTH characters.
             */
            reason: string;
        };
        DerivedParameterDto: {
            /** @description Arithmetic over parameters: + - * / % ^, parentheses, abs ceil exp floor log log10 log2 max min pow round sqrt; ^ binds tighter than a minus (-x^2 is -(x^2)); % keeps the dividend's sign (-7 % 3 is -1). */
            expression: string;
            /** @description Name the runner receives. */
            name: string;
        };
        EarlyStopDto: {
            /** @description Curves that calibrated the decision: completed trials', and early-stopped trials' as runs ending at their stop. */
            calibrationSize: number;
            /** @description The curve policy's extrapolation of the final value, stored for inspection only (never told to the engine). */
            extrapolatedFinal: number | null;
            /** @description Last observed value of the objective's curve, minimised (a maximised objective negated). */
            lastValue: number | null;
            /** @description The optimistic final value at the policy's confidence. */
            lowerBound: number | null;
            /** @description The median policy's comparison value. */
            median: number | null;
            /** @description `power_law`, `exponential` or `flat`: the curve model of the extrapolation. */
            model: string | null;
            /** @description step / totalSteps of the last observation. */
            progress: number;
            /** @description The policy's rule that stopped it: `cannot_beat_threshold` (curve) or `worse_than_median` (median). */
            rule: string;
            /** @description What the trial had to come in strictly below (the incumbent's f). */
            threshold: number | null;
        };
        EarlyStoppingPolicyDto: {
            /** @description curve: completed trials before any stop (their curves calibrate the extrapolation), ≥ 2 (default 3); the first this many trials are never stopped. */
            calibrationTrials?: number;
            /** @description curve: calibrate on at most this many completed curves, the most recent (default 50, at most 100). */
            calibrationWindow?: number;
            /** @description curve: probability that a stopped trial would not have beaten the incumbent, in (0.5, 1) (default 0.95). */
            confidence?: number;
            /** @description median: check at the first reported step of each interval (Optuna `interval_steps`, default 1). */
            intervalSteps?: number;
            /**
             * @description `none` (never stop), `median` (Optuna's MedianPruner) or `curve` (the default for MADS: stop a trial whose extrapolated curve cannot beat the incumbent at `confidence`).
             * @enum {string}
             */
            kind: "none" | "median" | "curve";
            /** @description curve: observed points of a trial's curve before a fit is trusted, ≥ 3 (default 4). */
            minPoints?: number;
            /** @description curve: fraction of the run before which no trial is stopped, in (0, 1) (default 0.1). */
            minProgress?: number;
            /** @description median: completed trials before any stop (Optuna `n_startup_trials`, default 5); the first this many trials are never stopped. */
            nStartupTrials?: number;
            /** @description median: no stop below this step (Optuna `n_warmup_steps`, default 0). */
            nWarmupSteps?: number;
            /**
             * @description curve: stopping that can be undone. An object: a trial the rule would stop is paused instead
             *     (by a more aggressive rule: only X0 protected, behind the incumbent's curve from `minProgress`
             *     on), told to the engine as an unsuccessful evaluation, and may be resumed later from its
             *     checkpoint for its remaining steps; a resumed trial's stop is final. Needs
             *     `trainingConfig.checkpointSteps` (400 naming `earlyStopping.resume` otherwise). null or absent
             *     (the default): every stop is final. `{}` takes the defaults (`afterTrialsWithoutImprovement` 5).
             */
            resume?: components["schemas"]["ResumeOptionsDto"] | null;
            /**
             * @description curve: take stopped trials up again (opt-in, default false). At each restart of MADS on the
             *     minimum mesh, and once the engine has nothing left to ask with budget left (GPU-hours, or
             *     evaluations it left unspent), the most promising stopped (and, with `resume`, paused) trial runs on from its checkpoint; its
             *     second stop is final, it counts once against `maxEvaluations`, its GPU-seconds add up. Needs
             *     `trainingConfig.checkpointSteps` (400 naming `earlyStopping.revive` otherwise).
             */
            revive?: boolean;
        };
        EngineStateResponseDto: {
            /** @enum {string} */
            algorithm: "mads" | "random";
            /** @description Results the algorithm has been told. */
            evaluationCount: number;
            /** @description MADS frame size Δ per parameter, in engine space (null for random). */
            frameSize: number[] | null;
            /** @description MADS iteration number (null for random). */
            iteration: number | null;
            /** @description MADS mesh size δ per parameter, in engine space (null for random). */
            meshSize: number[] | null;
            /** @description The algorithm's stop reason once it stopped (NOMAD's names). */
            stopReason: string | null;
        };
        EnqueueTrialDto: {
            /** @description A value for every free parameter, in user values; leased before any engine suggestion. */
            parameters: {
                [key: string]: number | string;
            };
        };
        ErrorBody: {
            /**
             * @description Stable machine-readable code
             * @enum {string}
             */
            code: "VALIDATION_FAILED" | "INVALID_NOMAD_PARAMETERS" | "UNAUTHENTICATED" | "FORBIDDEN" | "TRIAL_NOT_LEASED_TO_RUNNER" | "NOT_FOUND" | "STUDY_NOT_FOUND" | "TRIAL_NOT_FOUND" | "RUNNER_NOT_FOUND" | "API_KEY_NOT_FOUND" | "PROJECT_NOT_FOUND" | "REQUEST_TIMEOUT" | "STUDY_NOT_ACTIVE" | "STUDY_FINISHED" | "INVALID_STATUS_TRANSITION" | "STUDY_NOT_FINISHED" | "DUPLICATE_POINT" | "BUDGET_EXHAUSTED" | "TRIAL_NOT_RUNNING" | "TRIAL_ALREADY_FINISHED" | "LEASE_LOST" | "TRIAL_STOPPED_EARLY" | "RUNNER_QUARANTINED" | "RUNNER_LABELS_MISSING" | "RUNNER_CAPACITY_INSUFFICIENT" | "RUNNER_LEASE_LIMIT" | "RUNNER_DECLINED_STUDY" | "PROJECT_NAME_TAKEN" | "PROJECT_QUOTA_EXCEEDED" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "TOO_MANY_REQUESTS" | "RATE_LIMITED" | "HEADERS_TOO_LARGE" | "INTERNAL_ERROR" | "SERVICE_UNAVAILABLE";
            /** @description Per-field errors `[{field, reason}]` on VALIDATION_FAILED; other context otherwise */
            details?: unknown;
            /** @description For people: names the field when a field is at fault */
            message: string;
            /** @description The `x-request-id` of the request, to quote in a report */
            requestId?: string;
            /** @description The HTTP status, repeated */
            statusCode: number;
        };
        FailTrialDto: {
            /** @description What went wrong, for people (e.g. "CUDA out of memory"). */
            error: string;
            /**
             * @description GPU-seconds used by this attempt in all: GPUs × wall-clock seconds of the training child
             *     (added to the trial's earlier attempts; the study sums trials in `gpuHoursUsed`).
             */
            gpuSeconds?: number;
            /**
             * @description Whose fault. `evaluation` (default): the point is bad (NaN loss, diverged): a failed
             *     evaluation told to the engine as NOMAD does, counted in the budget.
             *     `runner`: this machine cannot run trials (data or model path missing, import or CUDA error,
             *     disk full): the trial goes back to pending, budget and attempts untouched (`runnerFailures` + 1),
             *     and the runner is marked unhealthy; `MESHTUNE_QUARANTINE_AFTER_FAILURES` of them in a row
             *     quarantine it.
             *     `resource`: out of GPU memory (on any rank). The trial goes back to pending, budget and
             *     attempts untouched, the runner's health untouched, and from then on only runners with more
             *     memory per GPU than this one lease it (the trial's `minGpuMemoryMb`). When no live, not
             *     quarantined runner that may lease the study has more, it is a failed evaluation (counted, told)
             *     whose error says it fits no runner. From a runner that registered no `gpuMemoryMb`, it is a
             *     retryable `evaluation` failure.
             * @enum {string}
             */
            kind?: "evaluation" | "runner" | "resource";
            /** @description With kind `evaluation`: true for a transient failure of this run (node lost, preempted): the trial is retried while attempts remain (`maxAttempts`). Default false: a failed evaluation (NOMAD's EVAL_FAILED), never re-evaluated. Ignored with kinds `runner` and `resource` (they never use an attempt). */
            retryable?: boolean;
        };
        HealthResponseDto: Record<string, never>;
        HistoryResponseDto: {
            /**
             * @description Finished trials (completed and failed) in the order the engine was told them (their evaluation
             *     order): up to `limit`, and at most about 4 MiB of them (fewer when trials are large; `nextCursor` goes on).
             */
            items: components["schemas"]["TrialResponseDto"][];
            /** @description Pass as `cursor` for the next page; null on the last page. */
            nextCursor: string | null;
        };
        ImportBudgetDto: {
            /** @description Seconds a lease lasts without a heartbeat (default from MESHTUNE_LEASE_SECONDS). */
            leaseSeconds?: number;
            /** @description Leases a trial may lose (runner crash, expiry) before it counts as failed (default 3). */
            maxAttempts?: number;
            /**
             * @description A budget in GPU-hours (docs/algorithm.md, "Budgets: evaluations and GPU-hours"): the study's
             *     GPU-hours used are every trial's latest reported `gpuSeconds` (running trials included, each
             *     bounded by its runner's GPUs × lease time). Once they reach this, no trial is leased any more
             *     (new, requeued or resumed); trials already running finish and their results count, then the
             *     study ends with stop reason `max_gpu_hours`. Left out: no GPU-hour cap (maxEvaluations alone).
             *     Whichever of the two budgets is spent first ends the study.
             */
            maxGpuHours?: number;
            /** @description Trials running at once (default 1000, i.e. as many as runners ask for). */
            maxParallelTrials?: number;
        };
        ImportNomadCacheDto: {
            /** @description The text of a NOMAD 4 cache file: `( x… ) BB_EVAL_OK ( outputs… )` lines, outputs in the study's output order. */
            cacheFile: string;
        };
        ImportNomadCacheResponseDto: {
            /** @description Evaluations added as trials (origin `import`) and told to the engine. */
            imported: number;
            /** @description Points that were already trials of the study. */
            skipped: number;
        };
        ImportNomadStudyDto: {
            budget?: components["schemas"]["ImportBudgetDto"];
            name: string;
            /** @description Names of the blackbox outputs, in BB_OUTPUT_TYPE order (default obj, pb1, eb1, extra1, …). */
            outputNames?: string[];
            /** @description The text of a NOMAD 4 parameter file (DIMENSION, BB_INPUT_TYPE, X0, bounds, BB_OUTPUT_TYPE, MAX_BB_EVAL…). */
            parameterFile: string;
            /** @description Names of the variables, in order (default x1, x2, …). */
            parameterNames?: string[];
            /**
             * Format: uuid
             * @description The project the study belongs to: only an admin key may name one (default: the default
             *     project); a user key's studies go to its own project.
             */
            projectId?: string;
            /**
             * @description Only runners that registered at least this much memory per GPU (`gpuMemoryMb`, MiB) lease its
             *     trials; a runner that registered none does not qualify.
             */
            requiredRunnerGpuMemoryMb?: number;
            /** @description Only runners that registered at least this many GPUs lease its trials. */
            requiredRunnerGpus?: number;
            /** @description Only runners that registered every one of these labels (e.g. `a100`, `80g`) lease its trials. */
            requiredRunnerLabels?: string[];
            /**
             * @description JSON handed to runners with each trial: model, data paths, epochs, batch sizes, metric… (the
             *     Python runner's schema: docs/runner.md). Stored as given but for `checkpointSteps`, which the
             *     API reads (`earlyStopping.resume` and `revive` need it): a whole number from 1 to 2147483647, or
             *     null; 400 naming `trainingConfig.checkpointSteps` otherwise.
             */
            trainingConfig?: {
                [key: string]: unknown;
            };
        };
        ImportNomadStudyResponseDto: {
            /** @description Keywords about running NOMAD locally (BB_EXE, NB_THREADS_*, HISTORY_FILE, DISPLAY_*…), accepted and not used. */
            ignoredKeywords: string[];
            study: components["schemas"]["StudyResponseDto"];
        };
        LeaseRequestDto: {
            /**
             * Format: uuid
             * @description Only lease trials of this study (default: any active study).
             */
            studyId?: string;
        };
        LeaseResponseDto: {
            leaseExpiresAt: string;
            /** @description Lease length; send a trial heartbeat well within it. */
            leaseSeconds: number;
            /** @description The outputs to report on completion. */
            outputs: components["schemas"]["OutputDefinitionDto"][];
            /** @description The study's trainingConfig, as given at creation. */
            trainingConfig: {
                [key: string]: unknown;
            };
            trial: components["schemas"]["TrialResponseDto"];
        };
        MetricPointDto: {
            /** @description e.g. `eval_loss`. */
            name: string;
            /** @description Training step. */
            step: number;
            value: number;
        };
        OutputDefinitionDto: {
            /**
             * @description Objective only; default `minimize`.
             * @enum {string}
             */
            goal?: "minimize" | "maximize";
            /** @description Name the runner reports the value under. */
            name: string;
            /**
             * @description `objective` (exactly one), `constraint_pb` / `constraint_eb` (feasible when ≤ 0; NOMAD's PB / EB) or `extra` (recorded only).
             * @enum {string}
             */
            type: "objective" | "constraint_pb" | "constraint_eb" | "extra";
        };
        ParameterDefinitionDto: {
            /** @description A constant value (NOMAD's FIXED_VARIABLE). */
            fixed?: number | string;
            /** @description Values are multiples of this step (NOMAD's GRANULARITY); on the log10 scale for log reals. */
            granularity?: number;
            /** @description Real only: search on log10 of the value (bounds must be positive). */
            log?: boolean;
            /** @description Lower bound (real, integer). */
            lower?: number;
            /** @description Name the runner receives; letters, digits and _. */
            name: string;
            /**
             * @description `real` (optionally log-scale), `integer`, `ordinal` (ordered list) or `categorical` (unordered).
             * @enum {string}
             */
            type: "real" | "integer" | "ordinal" | "categorical";
            /** @description Upper bound (real, integer). */
            upper?: number;
            /** @description Ordinal / categorical: the allowed values (numbers or strings). */
            values?: (number | string)[];
        };
        ProjectListResponseDto: {
            items: components["schemas"]["ProjectResponseDto"][];
            limit: number;
            offset: number;
            total: number;
        };
        ProjectResponseDto: {
            /** @description Studies with status `active` now. */
            activeStudies: number;
            createdAt: string;
            id: string;
            maxActiveStudies: number | null;
            maxParallelTrials: number | null;
            /** @description Most registered runners (default 1000). */
            maxRunners: number;
            /** @description Most stored studies of every status (default 1000). */
            maxStoredStudies: number;
            name: string;
            /** @description Runners registered now. */
            runners: number;
            /** @description Trials running now over all its studies. */
            runningTrials: number;
            /** @description Studies stored now, of every status. */
            storedStudies: number;
        };
        ReadinessResponseDto: Record<string, never>;
        RegisteredRunnerResponseDto: {
            createdAt: string;
            /** @description Trials this runner holds a lease on now. */
            currentTrialIds: string[];
            /** @description Failed evaluations in a row (a completed trial resets it). */
            evaluationFailureStreak: number;
            /** @description Runner failures in a row (a completed trial resets it). */
            failureStreak: number;
            gpuMemoryMb: number | null;
            gpus: number;
            /**
             * @description `healthy`; `unhealthy` after a runner failure (until it completes a trial); `quarantined`:
             *     no leases (409 RUNNER_QUARANTINED) until cleared (POST /v1/runners/{runnerId}/clear-quarantine)
             *     or registered again.
             * @enum {string}
             */
            health: "healthy" | "unhealthy" | "quarantined";
            id: string;
            labels: string[];
            /** @description The last runner failure's error. */
            lastFailure: string | null;
            lastFailureAt: string | null;
            lastSeenAt: string;
            /** @description Open leases it may hold at once (registered, or the default 16). */
            maxConcurrentTrials: number;
            name: string;
            /** @description The project whose studies it leases. */
            projectId: string;
            quarantinedAt: string | null;
            /** @description Why it was quarantined (the streak and the last error). */
            quarantineReason: string | null;
            /** @description The runner token: shown in this response only; use it for every runner call. */
            token: string;
        };
        RegisterRunnerDto: {
            /** @description Memory of one GPU, in MiB. */
            gpuMemoryMb?: number | null;
            gpus?: number;
            labels?: string[];
            /**
             * @description Trials it runs at once (its slots): it holds at most this many leases, a lease beyond them is
             *     409 RUNNER_LEASE_LIMIT. Default 16 (DEFAULT_RUNNER_MAX_CONCURRENT_TRIALS); the Python runner
             *     sends 1, the SDK's worker its `concurrency`.
             */
            maxConcurrentTrials?: number;
            /** @description e.g. the host name. */
            name: string;
            /**
             * Format: uuid
             * @description The runner leases only its project's studies, and only those whose `requiredRunnerLabels`
             *     are all among `labels`. A runner key registers in its own project; only an admin key may
             *     name one (default: the default project).
             */
            projectId?: string;
        };
        ReleaseTrialDto: {
            /**
             * @description GPU-seconds used by this attempt in all, up to the release (a runner shutting down, a study
             *     paused): added to the trial's earlier attempts, so the time since the last heartbeat is not lost.
             */
            gpuSeconds?: number;
        };
        ResumeOptionsDto: {
            /** @description Resume the most promising paused trial after this many fresh trials in a row without improving the incumbent, ≥ 1 (default 5). */
            afterTrialsWithoutImprovement?: number;
        };
        RunnerDeclineDto: {
            declinedAt: string;
            /** @description From then on the study may be leased to that runner again (or once it registers again). */
            expiresAt: string;
            /** @description The runner's reason (e.g. "trainData: a local path this runner does not allow: …"). */
            reason: string;
            runnerId: string;
            runnerName: string;
        };
        RunnerDeclineListResponseDto: {
            /** @description The newest first. */
            items: components["schemas"]["RunnerDeclineDto"][];
            limit: number;
            offset: number;
            /** @description Runners whose decline of the study is in force: the study is declined by this many (all of them, not only this page). */
            total: number;
        };
        RunnerListResponseDto: {
            /**
             * @description Up to `limit` runners, last seen first, and at most about 4 MiB of them: runners of many long
             *     labels and long failures come fewer to a page, so the next page starts at `offset` plus the
             *     items received.
             */
            items: components["schemas"]["RunnerResponseDto"][];
            limit: number;
            offset: number;
            total: number;
        };
        RunnerResponseDto: {
            createdAt: string;
            /** @description Trials this runner holds a lease on now. */
            currentTrialIds: string[];
            /** @description Failed evaluations in a row (a completed trial resets it). */
            evaluationFailureStreak: number;
            /** @description Runner failures in a row (a completed trial resets it). */
            failureStreak: number;
            gpuMemoryMb: number | null;
            gpus: number;
            /**
             * @description `healthy`; `unhealthy` after a runner failure (until it completes a trial); `quarantined`:
             *     no leases (409 RUNNER_QUARANTINED) until cleared (POST /v1/runners/{runnerId}/clear-quarantine)
             *     or registered again.
             * @enum {string}
             */
            health: "healthy" | "unhealthy" | "quarantined";
            id: string;
            labels: string[];
            /** @description The last runner failure's error. */
            lastFailure: string | null;
            lastFailureAt: string | null;
            lastSeenAt: string;
            /** @description Open leases it may hold at once (registered, or the default 16). */
            maxConcurrentTrials: number;
            name: string;
            /** @description The project whose studies it leases. */
            projectId: string;
            quarantinedAt: string | null;
            /** @description Why it was quarantined (the streak and the last error). */
            quarantineReason: string | null;
        };
        StudyBudgetDto: {
            /** @description Seconds a lease lasts without a heartbeat (default from MESHTUNE_LEASE_SECONDS). */
            leaseSeconds?: number;
            /** @description Leases a trial may lose (runner crash, expiry) before it counts as failed (default 3). */
            maxAttempts?: number;
            /** @description NOMAD's MAX_BB_EVAL: completed + failed trials. */
            maxEvaluations: number;
            /**
             * @description A budget in GPU-hours (docs/algorithm.md, "Budgets: evaluations and GPU-hours"): the study's
             *     GPU-hours used are every trial's latest reported `gpuSeconds` (running trials included, each
             *     bounded by its runner's GPUs × lease time). Once they reach this, no trial is leased any more
             *     (new, requeued or resumed); trials already running finish and their results count, then the
             *     study ends with stop reason `max_gpu_hours`. Left out: no GPU-hour cap (maxEvaluations alone).
             *     Whichever of the two budgets is spent first ends the study.
             */
            maxGpuHours?: number;
            /** @description Trials running at once (default 1000, i.e. as many as runners ask for). */
            maxParallelTrials?: number;
        };
        StudyBudgetResponseDto: {
            leaseSeconds: number;
            maxAttempts: number;
            maxEvaluations: number;
            /** @description The budget in GPU-hours; null: none (docs/algorithm.md, "Budgets: evaluations and GPU-hours"). */
            maxGpuHours: number | null;
            maxParallelTrials: number;
        };
        StudyListResponseDto: {
            /**
             * @description Up to `limit` summaries, newest first, and at most about 4 MiB of them: long descriptions and
             *     many outputs or labels come fewer to a page, so the next page starts at `offset` plus the
             *     items received.
             */
            items: components["schemas"]["StudySummaryDto"][];
            limit: number;
            offset: number;
            total: number;
        };
        StudyResponseDto: {
            algorithm: components["schemas"]["AlgorithmOptionsDto"];
            budget: components["schemas"]["StudyBudgetResponseDto"];
            completedAt: string | null;
            createdAt: string;
            derived: components["schemas"]["DerivedParameterDto"][];
            description: string | null;
            /** @description The study's early-stopping policy, every parameter with its value (defaults filled in). */
            earlyStopping: components["schemas"]["EarlyStoppingPolicyDto"];
            /** @description Completed + failed + early-stopped trials: NOMAD's blackbox evaluations. */
            evaluationCount: number;
            /** @description True when more than half of the evaluations failed: the study did not really explore its space (look at the trials' errors). */
            evaluationsMostlyFailed: boolean;
            /** @description Evaluations that failed (trials `failed`: told to the engine, counted in the budget). */
            failedEvaluationCount: number;
            /**
             * @description GPU-hours early stopping saved, an estimate: for each early-stopped trial, the GPU-seconds it
             *     used × (1 − progress) / progress, i.e. the rest of the run at the rate it ran so far.
             */
            gpuHoursSaved: number;
            /** @description GPU-hours the runners reported for the study's trials (each trial's latest `gpuSeconds`, summed). */
            gpuHoursUsed: number;
            id: string;
            name: string;
            outputs: components["schemas"]["OutputDefinitionDto"][];
            parameters: components["schemas"]["ParameterDefinitionDto"][];
            /** @description The project that owns it. */
            projectId: string;
            /** @description Memory of each GPU (MiB) a runner must have to lease its trials; null: any. */
            requiredRunnerGpuMemoryMb: number | null;
            /** @description GPUs a runner must have to lease its trials; null: any. */
            requiredRunnerGpus: number | null;
            /** @description Labels a runner must have to lease its trials. */
            requiredRunnerLabels: string[];
            /** @enum {string} */
            status: "active" | "paused" | "completed" | "failed" | "stopped";
            /**
             * @description Why the study ended (null while it runs); `x0_failed` ends it as `failed`.
             * @enum {string|null}
             */
            stopReason: "max_evaluations" | "max_gpu_hours" | "mesh_converged" | "x0_failed" | "user_stopped" | null;
            trainingConfig: {
                [key: string]: unknown;
            };
            trialCounts: components["schemas"]["TrialCountsDto"];
            updatedAt: string;
            x0: {
                [key: string]: number | string;
            }[];
        };
        StudySummaryDto: {
            algorithm: components["schemas"]["AlgorithmSummaryDto"];
            budget: components["schemas"]["StudyBudgetResponseDto"];
            completedAt: string | null;
            createdAt: string;
            description: string | null;
            /** @description Completed + failed + early-stopped trials: NOMAD's blackbox evaluations. */
            evaluationCount: number;
            /** @description True when more than half of the evaluations failed: the study did not really explore its space (look at the trials' errors). */
            evaluationsMostlyFailed: boolean;
            /** @description Evaluations that failed (trials `failed`: told to the engine, counted in the budget). */
            failedEvaluationCount: number;
            /**
             * @description GPU-hours early stopping saved, an estimate: for each early-stopped trial, the GPU-seconds it
             *     used × (1 − progress) / progress, i.e. the rest of the run at the rate it ran so far.
             */
            gpuHoursSaved: number;
            /** @description GPU-hours the runners reported for the study's trials (each trial's latest `gpuSeconds`, summed). */
            gpuHoursUsed: number;
            id: string;
            name: string;
            outputs: components["schemas"]["OutputDefinitionDto"][];
            /** @description Parameters of the search space. */
            parameterCount: number;
            /** @description The project that owns it. */
            projectId: string;
            /** @description Labels a runner must have to lease its trials. */
            requiredRunnerLabels: string[];
            /** @enum {string} */
            status: "active" | "paused" | "completed" | "failed" | "stopped";
            /**
             * @description Why the study ended (null while it runs); `x0_failed` ends it as `failed`.
             * @enum {string|null}
             */
            stopReason: "max_evaluations" | "max_gpu_hours" | "mesh_converged" | "x0_failed" | "user_stopped" | null;
            trialCounts: components["schemas"]["TrialCountsDto"];
            updatedAt: string;
        };
        TrialAdapterDto: {
            /** @description A path on the runner's disk or a shared file system, or an object store URL. */
            location: string;
            /** @description The adapter's size in bytes. */
            sizeBytes?: number;
        };
        TrialAdapterResponseDto: {
            /** @description A path on the runner's disk or a shared file system, or an object store URL. */
            location: string;
            /** @description The adapter's size in bytes; null when the runner did not report it. */
            sizeBytes: number | null;
        };
        TrialCountsDto: {
            completed: number;
            failed: number;
            /** @description Paused trials (early stopping with `resume`): told as unsuccessful evaluations, may be resumed. */
            paused: number;
            pending: number;
            running: number;
            /** @description Early-stopped trials and trials stopped because the study ended. */
            stopped: number;
        };
        TrialHeartbeatDto: {
            /**
             * @description GPU-seconds used by this attempt so far: GPUs × wall-clock seconds of the training child,
             *     cumulative (the latest value is kept and added to the trial's earlier attempts; the study sums
             *     trials in `gpuHoursUsed`).
             */
            gpuSeconds?: number;
            /**
             * @description Intermediate metrics since the last heartbeat (re-sending a point overwrites it). A trial
             *     keeps at most 10,000 points over 100 names; new points beyond are dropped and counted in
             *     the reply's `metricsDropped`.
             */
            metrics?: components["schemas"]["MetricPointDto"][];
            /** @description Share of the trial done, 0–1. */
            progress?: number;
        };
        TrialHeartbeatResponseDto: {
            leaseExpiresAt: string | null;
            /** @description Points of this heartbeat not stored because the trial holds its maximum of metric points or names. */
            metricsDropped: number;
            /**
             * @description Why: `early_stopped` (its curve cannot beat what the study needs: the trial is over and counted
             *     as an unsuccessful evaluation), `study_paused`, `study_stopped`, `study_completed`, `study_failed`.
             */
            reason: string | null;
            /**
             * @description True when the runner should stop this trial: the study is paused or over, or the trial was
             *     stopped early (then it is `stopped`; do not complete or fail it, that gets 409).
             */
            shouldStop: boolean;
        };
        TrialListResponseDto: {
            /**
             * @description Up to `limit` trials in number order, and at most about 4 MiB of them: a page of large trials
             *     (hundreds of parameters, long errors) holds fewer, so the next page starts at `offset` plus the
             *     items received, not at `offset + limit`.
             */
            items: components["schemas"]["TrialResponseDto"][];
            limit: number;
            offset: number;
            total: number;
        };
        TrialMetricDto: {
            name: string;
            step: number;
            value: number;
        };
        TrialResponseDto: {
            /** @description Where the trained adapter lies, as the runner reported it on `complete`; null when it reported none. */
            adapter: components["schemas"]["TrialAdapterResponseDto"] | null;
            /** @description The lease number: 1, then + 1 each time the trial goes back to pending (lost, released, runner failure). */
            attempt: number;
            createdAt: string;
            /** @description The decision that stopped it early (null unless `stopReason` is `early_stopped`); a resumed trial keeps its pause's. */
            earlyStop: components["schemas"]["EarlyStopDto"] | null;
            /**
             * @description The configuration the runner trained with, as it reported it on `complete` (regime hash, GPU
             *     count and type, precision, library versions); null when it reported none.
             */
            effectiveConfig: {
                [key: string]: unknown;
            } | null;
            error: string | null;
            /**
             * @description The engine's reading of a completed trial, stored when its result is told: true when every
             *     constraint is satisfied (NOMAD's rule: h below 1e-13), false otherwise; null for failed,
             *     unfinished or not yet told trials.
             */
            feasible: boolean | null;
            finishedAt: string | null;
            /** @description GPU-seconds of all the trial's attempts (each attempt's latest figure from its runner, summed), null when no runner reported any. */
            gpuSeconds: number | null;
            id: string;
            lastHeartbeatAt: string | null;
            leaseExpiresAt: string | null;
            /** @description Intermediate metrics (only on GET /v1/trials/{trialId}; at most 10,000 points over 100 names a trial). */
            metrics?: components["schemas"]["TrialMetricDto"][];
            /**
             * @description Memory of each GPU (MiB) a runner needs to lease this trial: set when it ran out of GPU memory
             *     (`fail` with kind `resource`), one more than the largest GPU it ran out on; null otherwise.
             */
            minGpuMemoryMb: number | null;
            /** @description 1, 2, 3… within the study. */
            number: number;
            /**
             * @description `x0`, `search`, `poll`, `random` (engine), `user` (enqueued), `import` (NOMAD cache).
             * @enum {string}
             */
            origin: "x0" | "search" | "poll" | "random" | "user" | "import";
            outputs: {
                [key: string]: number;
            } | null;
            /** @description Values for the runner, derived and fixed parameters included. */
            parameters: {
                [key: string]: number | string;
            };
            /** @description The engine's point (ordinal index, log10 of log-scale reals…). */
            point: number[];
            progress: number | null;
            /**
             * @description Times the trial was resumed after a pause (early stopping with `resume`): a resumed trial keeps
             *     its evaluation (the budget counted it at the pause), its result is told again, and its next
             *     stop is final. 0 for every other trial.
             */
            resumes: number;
            /** @description Leases that ended in a runner failure (`fail` with `kind: "runner"`): they use neither an attempt nor the budget. */
            runnerFailures: number;
            runnerId: string | null;
            startedAt: string | null;
            /** @enum {string} */
            status: "pending" | "running" | "completed" | "failed" | "stopped" | "paused";
            /**
             * @description Why a `stopped` or `paused` trial stopped: `early_stopped` when its curve could not beat what
             *     the engine needed (told to the engine as an unsuccessful evaluation, counted in the budget);
             *     null for a trial stopped because its study ended.
             * @enum {string|null}
             */
            stopReason: "early_stopped" | null;
            studyId: string;
        };
        UpdateProjectQuotasDto: {
            /** @description New quota on active studies; null removes it; omitted leaves it. */
            maxActiveStudies?: number | null;
            /** @description New quota on running trials; null removes it; omitted leaves it. */
            maxParallelTrials?: number | null;
            /** @description New quota on registered runners (not null); omitted leaves it. Runners above a lowered quota stay. */
            maxRunners?: number;
            /** @description New quota on stored studies (not null); omitted leaves it. Studies above a lowered quota stay. */
            maxStoredStudies?: number;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthResponseDto"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadinessResponseDto"];
                };
            };
        };
    };
    listApiKeys: {
        parameters: {
            query?: {
                /** @description Page size (1–500, default 50). */
                limit?: number;
                /** @description Items to skip (default 0). */
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyListResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateApiKeyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKeyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    deleteApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                keyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    listProjects: {
        parameters: {
            query?: {
                /** @description Page size (1–500, default 50). */
                limit?: number;
                /** @description Items to skip (default 0). */
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectListResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    createProject: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateProjectDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    updateProjectQuotas: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                projectId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateProjectQuotasDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    listRunners: {
        parameters: {
            query?: {
                /** @description Page size (1–500, default 50). */
                limit?: number;
                /** @description Items to skip (default 0). */
                offset?: number;
                /** @description Only this project's runners (an admin key's choice; a user key sees its own project only). */
                projectId?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerListResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    registerRunner: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRunnerDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RegisteredRunnerResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    clearRunnerQuarantine: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runnerId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    heartbeatRunner: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runnerId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    leaseTrial: {
        parameters: {
            query?: never;
            header?: {
                /** @description On 204: seconds to wait before leasing again. */
                "Retry-After"?: string;
            };
            path: {
                runnerId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LeaseRequestDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaseResponseDto"];
                };
            };
            /** @description No trial to run now; retry after `Retry-After` seconds. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    listStudies: {
        parameters: {
            query?: {
                /** @description Page size (1–500, default 50). */
                limit?: number;
                /** @description Items to skip (default 0). */
                offset?: number;
                /** @description Only this project's studies (an admin key's choice; a user key sees its own project only). */
                projectId?: string;
                /** @description Only studies in this status. */
                status?: "active" | "paused" | "completed" | "failed" | "stopped";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudyListResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    createStudy: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateStudyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    getStudy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    deleteStudy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    getBestTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    getEngineState: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EngineStateResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    getHistory: {
        parameters: {
            query?: {
                /** @description JSON only: `nextCursor` of the previous page; omit for the first page. */
                cursor?: string;
                /** @description `json` (default: one page), `csv` or `nomad` (NOMAD's history-file format): the whole history, streamed. */
                format?: "json" | "csv" | "nomad";
                /** @description JSON only: page size (1–500, default 500). */
                limit?: number;
            };
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryResponseDto"];
                    "text/csv": components["schemas"]["HistoryResponseDto"];
                    "text/plain": components["schemas"]["HistoryResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    importNomadCache: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ImportNomadCacheDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImportNomadCacheResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    pauseStudy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    resumeStudy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    listRunnerDeclines: {
        parameters: {
            query?: {
                /** @description Page size (1–500, default 50). */
                limit?: number;
                /** @description Items to skip (default 0). */
                offset?: number;
            };
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerDeclineListResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    stopStudy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    listTrials: {
        parameters: {
            query?: {
                /** @description Page size (1–500, default 50). */
                limit?: number;
                /** @description Items to skip (default 0). */
                offset?: number;
                /** @description Only trials in this status. */
                status?: "pending" | "running" | "completed" | "failed" | "stopped" | "paused";
            };
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialListResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    enqueueTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                studyId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EnqueueTrialDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    importNomadStudy: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ImportNomadStudyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImportNomadStudyResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    getTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trialId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    completeTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trialId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CompleteTrialDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    declineTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trialId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DeclineTrialDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    failTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trialId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FailTrialDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    heartbeatTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trialId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TrialHeartbeatDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialHeartbeatResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    releaseTrial: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trialId: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ReleaseTrialDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrialResponseDto"];
                };
            };
            /** @description RATE_LIMITED: the key, its project or the project's expensive-read budget is spent for this window (details: `budget`, `limit`, `windowSeconds`, `retryAfterSeconds`), or the key or its project has as many requests in flight as it may (details: `budget` `key-in-flight` or `project-in-flight`, `limit`, `retryAfterSeconds`); or TOO_MANY_REQUESTS: too many failed authentications from this address. Retry after `Retry-After` seconds. */
            429: {
                headers: {
                    /** @description Seconds until the budget refills or a place may be free */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
