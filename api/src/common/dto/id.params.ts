import { IsUUID } from 'class-validator';
import { CanonicalId } from './canonical-id';

export class StudyIdParams {
  @CanonicalId()
  @IsUUID('all', { message: '$property must be a UUID' })
  studyId: string;
}

export class TrialIdParams {
  @CanonicalId()
  @IsUUID('all', { message: '$property must be a UUID' })
  trialId: string;
}

export class RunnerIdParams {
  @CanonicalId()
  @IsUUID('all', { message: '$property must be a UUID' })
  runnerId: string;
}

export class KeyIdParams {
  @CanonicalId()
  @IsUUID('all', { message: '$property must be a UUID' })
  keyId: string;
}

export class ProjectIdParams {
  @CanonicalId()
  @IsUUID('all', { message: '$property must be a UUID' })
  projectId: string;
}
