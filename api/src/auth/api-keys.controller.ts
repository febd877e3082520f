import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { KeyIdParams } from '../common/dto/id.params';
import { PaginationQueryDto } from '../common/dto/pagination.query.dto';
import { ApiKeysService } from './api-keys.service';
import { type Caller, CurrentCaller, RequireScopes } from './auth.decorators';
import { ApiKeyListResponseDto, CreatedApiKeyResponseDto, toApiKeyResponse } from './dto/api-key-response.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

@ApiTags('api-keys')
@ApiBearerAuth()
@RequireScopes('admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  /** Create a key; the response is the only time the key is shown. */
  @Post()
  async createApiKey(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyResponseDto> {
    const { entity, key } = await this.apiKeys.create(body.name, body.scope);
    return { ...toApiKeyResponse(entity), key };
  }

  /** Keys that are not revoked (never the keys themselves). */
  @Get()
  async listApiKeys(@Query() query: PaginationQueryDto): Promise<ApiKeyListResponseDto> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const [items, total] = await this.apiKeys.list(limit, offset);
    return { items: items.map(toApiKeyResponse), total, limit, offset };
  }

  /** Revoke a key at once, with the runner tokens registered with it. */
  @Delete(':keyId')
  @HttpCode(204)
  async deleteApiKey(@Param() params: KeyIdParams, @CurrentCaller() caller: Caller): Promise<void> {
    await this.apiKeys.revoke(params.keyId, caller.keyId);
  }
}
