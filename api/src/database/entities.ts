import { ApiKey } from '../auth/api-key.entity';
import { Project } from '../projects/project.entity';
import { EngineEvent } from '../engine/engine-event.entity';
import { Runner } from '../runners/runner.entity';
import { RunnerStudyDecline } from '../runners/runner-study-decline.entity';
import { Study } from '../studies/study.entity';
import { TrialLease } from '../trials/trial-lease.entity';
import { TrialMetric } from '../trials/trial-metric.entity';
import { Trial } from '../trials/trial.entity';

export const ENTITIES = [
  Project,
  ApiKey,
  Runner,
  Study,
  EngineEvent,
  Trial,
  TrialMetric,
  TrialLease,
  RunnerStudyDecline,
];
