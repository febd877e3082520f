import { InitialSchema1764316800000 } from './1764316800000-InitialSchema';
import { EngineEvents1795867128744 } from './1795867128744-EngineEvents';
import { TrialScoresAndKeyLinks1796305627201 } from './1796305627201-TrialScoresAndKeyLinks';
import { RunnerHealth1796309316592 } from './1796309316592-RunnerHealth';
import { EarlyStopping1796317587290 } from './1796317587290-EarlyStopping';
import { Projects1796318090655 } from './1796318090655-Projects';
import { TrialResultMetadata1796322761129 } from './1796322761129-TrialResultMetadata';
import { RunnerCapacity1796330000000 } from './1796330000000-RunnerCapacity';
import { GpuSecondsAcrossAttempts1796331000000 } from './1796331000000-GpuSecondsAcrossAttempts';
import { RunnerQuotas1796332000000 } from './1796332000000-RunnerQuotas';
import { PausedTrials1796333000000 } from './1796333000000-PausedTrials';
import { RateLimitBudgets1796334000000 } from './1796334000000-RateLimitBudgets';
import { StoredStudyQuota1796335000000 } from './1796335000000-StoredStudyQuota';
import { GpuHourBudget1796336700000 } from './1796336700000-GpuHourBudget';
import { ResumeScores1796338000000 } from './1796338000000-ResumeScores';
import { RunnerStudyDeclines1796339000000 } from './1796339000000-RunnerStudyDeclines';

/** Every migration, oldest first: the only way the schema changes (docs/development.md, "Migrations"). */
export const MIGRATIONS = [
  InitialSchema1764316800000,
  EngineEvents1795867128744,
  TrialScoresAndKeyLinks1796305627201,
  RunnerHealth1796309316592,
  EarlyStopping1796317587290,
  Projects1796318090655,
  TrialResultMetadata1796322761129,
  RunnerCapacity1796330000000,
  GpuSecondsAcrossAttempts1796331000000,
  RunnerQuotas1796332000000,
  PausedTrials1796333000000,
  RateLimitBudgets1796334000000,
  StoredStudyQuota1796335000000,
  GpuHourBudget1796336700000,
  ResumeScores1796338000000,
  RunnerStudyDeclines1796339000000,
];
