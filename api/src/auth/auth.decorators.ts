import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { ApiKeyScope } from './api-key-scope';

export const PUBLIC_ROUTE = 'meshtune:public';
export const REQUIRED_SCOPES = 'meshtune:scopes';
export const RUNNER_TOKEN_ROUTE = 'meshtune:runner-token';

/** No API key needed (health, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** Any of these scopes may call the route; `admin` may call every scoped route. */
export const RequireScopes = (...scopes: ApiKeyScope[]): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPES, scopes);

/** Only a runner token may call the route; with a `:runnerId` param it must be that runner's token. */
export const RunnerToken = (): MethodDecorator & ClassDecorator => SetMetadata(RUNNER_TOKEN_ROUTE, true);

/** Who is calling, as established by the AuthGuard. */
export interface Caller {
  keyId: string;
  scope: ApiKeyScope;
  /** Set for runner tokens. */
  runnerId: string | null;
  /** The project the key acts in; null for admin keys (every project: projects/project-scope.ts). */
  projectId: string | null;
}

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const request = context.switchToHttp().getRequest<{ caller?: Caller }>();
  if (!request.caller) throw new Error('CurrentCaller used on a route without authentication');
  return request.caller;
});
