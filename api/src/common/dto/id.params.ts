import { IsUUID } from 'class-validator';

export class StudyIdParams {
  @IsUUID('all', { message: '$property must be a UUID' })
  studyId: string;
}

export class TrialIdParams {
  @IsUUID('all', { message: '$property must be a UUID' })
  trialId: string;
}

export class RunnerIdParams {
  @IsUUID('all', { message: '$property must be a UUID' })
  runnerId: string;
}

export class KeyIdParams {
  @IsUUID('all', { message: '$property must be a UUID' })
  keyId: string;
}

export class ProjectIdParams {
  @IsUUID('all', { message: '$property must be a UUID' })
  projectId: string;
}
