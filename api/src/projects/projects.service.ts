import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import { preparedQuery } from '../database/prepared-query';
import { runningInProject } from '../trials/store/trial-store';
import type { CreateProjectDto, ProjectResponseDto, UpdateProjectQuotasDto } from './dto/project.dto';
import { type ProjectUsage, toProjectResponse } from './dto/project.dto';
import { DEFAULT_PROJECT_MAX_RUNNERS, DEFAULT_PROJECT_MAX_STORED_STUDIES, Project } from './project.entity';

const NO_USAGE: ProjectUsage = { activeStudies: 0, runningTrials: 0, runners: 0, storedStudies: 0 };
import { projectNotFound } from './project-scope';

/** Projects and their quotas (docs/architecture.md, "Projects"). */
@Injectable()
export class ProjectsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(body: CreateProjectDto): Promise<ProjectResponseDto> {
    const repository = this.dataSource.getRepository(Project);
    const [existing] = await repository.find({ select: { id: true }, where: { name: body.name } });
    if (existing !== undefined) {
      throw new DomainError('PROJECT_NAME_TAKEN', `a project named "${body.name}" exists already`, {
        projectId: existing.id,
      });
    }
    try {
      const saved = await repository.save(
        repository.create({
          name: body.name,
          maxActiveStudies: body.maxActiveStudies ?? null,
          maxParallelTrials: body.maxParallelTrials ?? null,
          maxRunners: body.maxRunners ?? DEFAULT_PROJECT_MAX_RUNNERS,
          maxStoredStudies: body.maxStoredStudies ?? DEFAULT_PROJECT_MAX_STORED_STUDIES,
        }),
      );
      return toProjectResponse(saved, NO_USAGE);
    } catch (error) {
      // Two creations of one name at once: the unique index decides, the loser gets the same 409.
      if ((error as { driverError?: { code?: string } }).driverError?.code === '23505') {
        throw new DomainError('PROJECT_NAME_TAKEN', `a project named "${body.name}" exists already`);
      }
      throw error;
    }
  }

  /** Projects by name; `only` limits the listing to one project (a user key sees its own). */
  async list(
    only: string | null,
    limit: number,
    offset: number,
  ): Promise<{ items: ProjectResponseDto[]; total: number }> {
    const [projects, total] = await this.dataSource.getRepository(Project).findAndCount({
      where: only === null ? {} : { id: only },
      order: { name: 'ASC' },
      take: limit,
      skip: offset,
    });
    const usage = await this.usage(projects.map((project) => project.id));
    return {
      items: projects.map((project) => toProjectResponse(project, usage.get(project.id) ?? NO_USAGE)),
      total,
    };
  }

  async get(projectId: string): Promise<ProjectResponseDto> {
    const project = await this.dataSource.getRepository(Project).findOneBy({ id: projectId });
    if (project === null) throw projectNotFound(projectId);
    const usage = await this.usage([projectId]);
    return toProjectResponse(project, usage.get(projectId) ?? NO_USAGE);
  }

  /** Changes quotas; already active studies and running trials stay, what comes next obeys the new ones. */
  async updateQuotas(projectId: string, body: UpdateProjectQuotasDto): Promise<ProjectResponseDto> {
    const changes: Partial<Project> = {};
    if (body.maxActiveStudies !== undefined) changes.maxActiveStudies = body.maxActiveStudies;
    if (body.maxParallelTrials !== undefined) changes.maxParallelTrials = body.maxParallelTrials;
    if (body.maxRunners !== undefined) changes.maxRunners = body.maxRunners;
    if (body.maxStoredStudies !== undefined) changes.maxStoredStudies = body.maxStoredStudies;
    if (Object.keys(changes).length > 0) {
      const result = await this.dataSource.getRepository(Project).update({ id: projectId }, changes);
      if (result.affected === 0) throw projectNotFound(projectId);
    }
    return this.get(projectId);
  }

  /**
   * In the caller's transaction, before a study of the project becomes active (created, with
   * `newStudy`, or resumed): locks the project row, so concurrent creations count one after the
   * other, and refuses with 409 PROJECT_QUOTA_EXCEEDED when `maxActiveStudies` are active already
   * or, for a new study, when `maxStoredStudies` are stored already (of every status: deleting a
   * finished one frees room, finding 27). Returns the project's quota on running trials (a new
   * study's `maxParallelTrials` may not exceed it).
   */
  async reserveActiveStudy(
    manager: EntityManager,
    projectId: string,
    { newStudy }: { newStudy: boolean },
  ): Promise<{ maxParallelTrials: number | null }> {
    const [project] = await preparedQuery<{
      max_active_studies: number | null;
      max_parallel_trials: number | null;
      max_stored_studies: number;
    }>(
      manager,
      {
        name: 'project-lock',
        text: 'SELECT max_active_studies, max_parallel_trials, max_stored_studies FROM projects WHERE id = $1 FOR UPDATE',
      },
      [projectId],
    );
    if (project === undefined) throw projectNotFound(projectId);
    if (newStudy) {
      const [{ stored }] = await preparedQuery<{ stored: number }>(
        manager,
        { name: 'project-stored-studies', text: 'SELECT COUNT(*)::int AS stored FROM studies WHERE project_id = $1' },
        [projectId],
      );
      if (stored >= project.max_stored_studies) {
        throw new DomainError(
          'PROJECT_QUOTA_EXCEEDED',
          `project quota maxStoredStudies: the project stores ${stored} studies, its quota is ` +
            `${project.max_stored_studies}; delete a finished one (DELETE /v1/studies/{id}), or ask an admin to raise the quota`,
          { quota: 'maxStoredStudies', limit: project.max_stored_studies, current: stored, projectId },
        );
      }
    }
    if (project.max_active_studies !== null) {
      const [{ active }] = await preparedQuery<{ active: number }>(
        manager,
        {
          name: 'project-active-studies',
          text: `SELECT COUNT(*)::int AS active FROM studies WHERE project_id = $1 AND status = 'active'`,
        },
        [projectId],
      );
      if (active >= project.max_active_studies) {
        throw new DomainError(
          'PROJECT_QUOTA_EXCEEDED',
          `project quota maxActiveStudies: the project has ${active} active studies, its quota is ` +
            `${project.max_active_studies}; stop or pause one, or ask an admin to raise the quota`,
          { quota: 'maxActiveStudies', limit: project.max_active_studies, current: active, projectId },
        );
      }
    }
    return { maxParallelTrials: project.max_parallel_trials };
  }

  /**
   * In the caller's transaction, before a runner of the project is registered: locks the project
   * row, so concurrent registrations count one after the other (the runner's service reclaims
   * stale runners or refuses beyond the quota), and returns the quota with the runners counted now.
   */
  async lockRunnerQuota(manager: EntityManager, projectId: string): Promise<{ maxRunners: number; runners: number }> {
    const [project] = await preparedQuery<{ max_runners: number }>(
      manager,
      { name: 'project-lock-runners', text: 'SELECT max_runners FROM projects WHERE id = $1 FOR UPDATE' },
      [projectId],
    );
    if (project === undefined) throw projectNotFound(projectId);
    const [{ runners }] = await preparedQuery<{ runners: number }>(
      manager,
      { name: 'project-runners', text: 'SELECT COUNT(*)::int AS runners FROM runners WHERE project_id = $1' },
      [projectId],
    );
    return { maxRunners: project.max_runners, runners };
  }

  private async usage(projectIds: string[]): Promise<Map<string, ProjectUsage>> {
    const result = new Map<string, ProjectUsage>();
    if (projectIds.length === 0) return result;
    const rows = (await this.dataSource.query(
      `SELECT p.id,
              (SELECT COUNT(*)::int FROM studies s WHERE s.project_id = p.id AND s.status = 'active') AS active,
              (SELECT COUNT(*)::int FROM runners r WHERE r.project_id = p.id) AS runners,
              (SELECT COUNT(*)::int FROM studies s WHERE s.project_id = p.id) AS stored
         FROM projects p WHERE p.id = ANY($1::uuid[])`,
      [projectIds],
    )) as { id: string; active: number; runners: number; stored: number }[];
    const running = await Promise.all(rows.map((row) => runningInProject(this.dataSource, row.id)));
    rows.forEach((row, i) =>
      result.set(row.id, {
        activeStudies: row.active,
        runningTrials: running[i],
        runners: row.runners,
        storedStudies: row.stored,
      }),
    );
    return result;
  }
}
