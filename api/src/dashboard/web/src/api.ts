import { ApiError, NetworkError } from './api-errors';
import type { EngineState, Page, Project, Runner, Study, StudySummary, Trial } from './types';

const KEY_STORAGE = 'meshtune.apiKey';
const PROJECT_STORAGE = 'meshtune.projectId';

/** The API key lives in sessionStorage: gone when the browser tab closes, never in localStorage. */
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY_STORAGE),
  signIn: (key: string): void => sessionStorage.setItem(KEY_STORAGE, key),
  signOut: (): void => {
    sessionStorage.removeItem(KEY_STORAGE);
    sessionStorage.removeItem(PROJECT_STORAGE);
  },
  /** The project the lists show (the project switch); null: every project the key sees. */
  project: (): string | null => sessionStorage.getItem(PROJECT_STORAGE),
  chooseProject: (projectId: string | null): void =>
    projectId === null
      ? sessionStorage.removeItem(PROJECT_STORAGE)
      : sessionStorage.setItem(PROJECT_STORAGE, projectId),
};

/** `&projectId=…` for list routes when a project is chosen. */
const projectFilter = (): string => {
  const projectId = session.project();
  return projectId === null ? '' : `&projectId=${encodeURIComponent(projectId)}`;
};

async function request(path: string, key = session.key()): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { headers: key === null ? {} : { Authorization: `Bearer ${key}` } });
  } catch (error) {
    throw new NetworkError(`Cannot reach the API (${error instanceof Error ? error.message : String(error)})`);
  }
  if (response.ok) return response;
  let code = `HTTP_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { code?: unknown; message?: unknown };
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not JSON: keep the status line.
  }
  throw new ApiError(response.status, code, message);
}

async function getJson<T>(path: string, key?: string | null): Promise<T> {
  return (await (await request(path, key)).json()) as T;
}

/** null on 404: the resource (or, on an older server, the route) does not exist. */
async function getOptional<T>(path: string): Promise<T | null> {
  try {
    return await getJson<T>(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

const TRIAL_PAGE = 500;

export const api = {
  /** Checks a key before it is kept: any user-scope call will do. */
  checkKey: (key: string): Promise<unknown> => getJson('/v1/studies?limit=1', key),
  studies: (limit = 100): Promise<Page<StudySummary>> =>
    getJson(`/v1/studies?limit=${limit}&offset=0${projectFilter()}`),
  projects: (): Promise<Page<Project>> => getJson('/v1/projects?limit=100'),
  study: (id: string): Promise<Study> => getJson(`/v1/studies/${encodeURIComponent(id)}`),
  best: (id: string): Promise<Trial | null> => getOptional(`/v1/studies/${encodeURIComponent(id)}/best`),
  engine: (id: string): Promise<EngineState | null> => getOptional(`/v1/studies/${encodeURIComponent(id)}/engine`),
  trial: (id: string): Promise<Trial> => getJson(`/v1/trials/${encodeURIComponent(id)}`),
  runners: (): Promise<Page<Runner>> => getJson(`/v1/runners?limit=200${projectFilter()}`),

  /**
   * Every trial of a study, a page of up to 500 at a time. A page of large trials holds fewer (the
   * API bounds a page's bytes too), so the next page starts after the trials received.
   */
  async trials(studyId: string, status?: string): Promise<Trial[]> {
    const trials: Trial[] = [];
    for (;;) {
      const filter = status === undefined ? '' : `&status=${status}`;
      const page = await getJson<Page<Trial>>(
        `/v1/studies/${encodeURIComponent(studyId)}/trials?limit=${TRIAL_PAGE}&offset=${trials.length}${filter}`,
      );
      trials.push(...page.items);
      if (page.items.length === 0 || trials.length >= page.total) return trials;
    }
  },

  /** A text download; fetched with the key (a plain link cannot carry it), handed over as a Blob. */
  async history(studyId: string, format: 'csv' | 'nomad'): Promise<Blob> {
    return (await request(`/v1/studies/${encodeURIComponent(studyId)}/history?format=${format}`)).blob();
  },
};

export { ApiError, NetworkError, describeError } from './api-errors';
