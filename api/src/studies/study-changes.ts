import { Injectable } from '@nestjs/common';
import { EventEmitter, once } from 'node:events';

/**
 * In-process notices that a study's trials changed in a way that may let its engine suggest
 * again (results told, a trial back to pending). Leases that found the engine waiting for
 * results park on them instead of answering 204 at once. Other API processes' changes are not
 * seen here: a parked lease also wakes up on its own and asks again (see LeaseService).
 */
@Injectable()
export class StudyChanges {
  private readonly events = new EventEmitter().setMaxListeners(0);

  notify(studyId: string): void {
    this.events.emit(studyId);
  }

  /** Resolves at the study's next change, or after `timeoutMs`. */
  async next(studyId: string, timeoutMs: number): Promise<void> {
    await once(this.events, studyId, { signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
  }
}
