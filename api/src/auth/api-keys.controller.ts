import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { KeyIdParams } from '../common/dto/id.params';
import { PaginationQueryDto } from '../common/dto/pagination.query.dto';
import { ValidationFailedError } from '../common/errors/domain-error';
import { ProjectScope } from '../projects/project-scope';
import { ApiKeysService } from './api-keys.service';
import { type Caller, CurrentCaller, RequireScopes } from './auth.decorators';
import { ApiKeyListResponseDto, CreatedApiKeyResponseDto, toApiKeyResponse } from './dto/api-key-response.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { CanonicalId } from '../common/dto/canonical-id';

export class ListApiKeysQueryDto extends PaginationQueryDto {
  /** Only the keys of this project. */
  @IsOptional()
  @CanonicalId()
  @IsUUID('all')
  projectId?: string;
}

@ApiTags('api-keys')
@ApiBearerAuth()
@RequireScopes('admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly scope: ProjectScope,
  ) {}

  /** Create a key (a `user` or `runner` key in `projectId`, default the default project); the response is the only time the key is shown. */
  @Post()
  async createApiKey(
    @Body() body: CreateApiKeyDto,
    @CurrentCaller() caller: Caller,
  ): Promise<CreatedApiKeyResponseDto> {
    if (body.scope === 'admin' && body.projectId !== undefined) {
      throw new ValidationFailedError([
        { field: 'projectId', reason: 'admin keys see every project; give projectId to user and runner keys only' },
      ]);
    }
    const projectId = body.scope === 'admin' ? null : await this.scope.forNew(caller, body.projectId);
    const { entity, key } = await this.apiKeys.create(body.name, body.scope, { projectId });
    return { ...toApiKeyResponse(entity), key };
  }

  /** Keys that are not revoked (never the keys themselves). */
  @Get()
  async listApiKeys(@Query() query: ListApiKeysQueryDto): Promise<ApiKeyListResponseDto> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const [items, total] = await this.apiKeys.list(limit, offset, query.projectId ?? null);
    return { items: items.map(toApiKeyResponse), total, limit, offset };
  }

  /** Revoke a key at once, with the runner tokens registered with it. */
  @Delete(':keyId')
  @HttpCode(204)
  async deleteApiKey(@Param() params: KeyIdParams, @CurrentCaller() caller: Caller): Promise<void> {
    await this.apiKeys.revoke(params.keyId, caller.keyId);
  }
}
