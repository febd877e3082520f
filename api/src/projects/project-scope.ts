import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Caller } from '../auth/auth.decorators';
import { DomainError, notFound } from '../common/errors/domain-error';
import { preparedQuery } from '../database/prepared-query';
import { projectOfTrial } from '../trials/store/trial-store';
import { DEFAULT_PROJECT_ID } from './project.entity';

/** Who is asking, as far as projects go: admin keys (projectId null) see every project. */
export type Principal = Pick<Caller, 'scope' | 'projectId'>;

/**
 * The one place where a caller's project decides what it may see (docs/architecture.md,
 * "Projects"): every route naming a study, trial or runner asks here first, and another
 * project's resource answers the same 404 as one that does not exist — its existence is not
 * told. Admin keys see every project; the services' own lookups still 404 a missing resource.
 */
@Injectable()
export class ProjectScope {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** 404 STUDY_NOT_FOUND unless the caller's project owns the study. */
  async study(caller: Principal, studyId: string): Promise<void> {
    if (caller.projectId === null) return;
    await this.owned(caller.projectId, 'scope-study', 'SELECT project_id FROM studies WHERE id = $1', studyId, () =>
      notFound('STUDY_NOT_FOUND', 'study', studyId),
    );
  }

  /** 404 TRIAL_NOT_FOUND unless the caller's project owns the trial's study. */
  async trial(caller: Principal, trialId: string): Promise<void> {
    if (caller.projectId === null) return;
    if ((await projectOfTrial(this.dataSource.manager, trialId)) !== caller.projectId) {
      throw notFound('TRIAL_NOT_FOUND', 'trial', trialId);
    }
  }

  /** 404 RUNNER_NOT_FOUND unless the runner belongs to the caller's project. */
  async runner(caller: Principal, runnerId: string): Promise<void> {
    if (caller.projectId === null) return;
    await this.owned(caller.projectId, 'scope-runner', 'SELECT project_id FROM runners WHERE id = $1', runnerId, () =>
      notFound('RUNNER_NOT_FOUND', 'runner', runnerId),
    );
  }

  /**
   * The project a listing shows: the caller's own (a user or runner key naming another one gets
   * 404 PROJECT_NOT_FOUND); for an admin key the one asked for, or null for every project.
   */
  listed(caller: Principal, requested: string | undefined): string | null {
    if (caller.projectId === null) return requested ?? null;
    if (requested !== undefined && requested !== caller.projectId) throw projectNotFound(requested);
    return caller.projectId;
  }

  /**
   * The project a new study or runner goes to: the caller's own; an admin key may name one
   * (checked to exist) and otherwise gets the default project.
   */
  async forNew(caller: Principal, requested: string | undefined): Promise<string> {
    const projectId = this.listed(caller, requested) ?? DEFAULT_PROJECT_ID;
    if (caller.projectId === null && requested !== undefined) {
      const rows = await preparedQuery<{ id: string }>(
        this.dataSource.manager,
        { name: 'scope-project-exists', text: 'SELECT id FROM projects WHERE id = $1' },
        [projectId],
      );
      if (rows.length === 0) throw projectNotFound(projectId);
    }
    return projectId;
  }

  private async owned(
    projectId: string,
    name: string,
    text: string,
    id: string,
    missing: () => DomainError,
  ): Promise<void> {
    const [row] = await preparedQuery<{ project_id: string }>(this.dataSource.manager, { name, text }, [id]);
    if (row === undefined || row.project_id !== projectId) throw missing();
  }
}

export function projectNotFound(projectId: string): DomainError {
  return notFound('PROJECT_NOT_FOUND', 'project', projectId);
}
