import { ApiProperty } from '@nestjs/swagger';
import { API_KEY_SCOPES, type ApiKeyScope } from '../api-key-scope';
import type { ApiKey } from '../api-key.entity';
import { IntegerProperty } from '../../common/dto/is-integer';

export class ApiKeyResponseDto {
  id: string;
  name: string;
  @ApiProperty({ enum: API_KEY_SCOPES })
  scope: ApiKeyScope;
  /**
   * To tell keys apart: `mt_<scope>_` and up to 4 of the random characters of a generated key;
   * `chosen:` and a fingerprint of the salted hash for MESHTUNE_ADMIN_KEY (none of its characters).
   */
  keyPrefix: string;
  /** Set for runner tokens. */
  runnerId: string | null;
  /** The project the key acts in; null for admin keys (every project). */
  @ApiProperty({ type: String, nullable: true })
  projectId: string | null;
  createdAt: string;
}

export class CreatedApiKeyResponseDto extends ApiKeyResponseDto {
  /** The key: shown in this response only. */
  key: string;
}

export class ApiKeyListResponseDto {
  items: ApiKeyResponseDto[];
  @IntegerProperty()
  total: number;
  @IntegerProperty()
  limit: number;
  @IntegerProperty()
  offset: number;
}

export function toApiKeyResponse(entity: ApiKey): ApiKeyResponseDto {
  return {
    id: entity.id,
    name: entity.name,
    scope: entity.scope,
    keyPrefix: entity.keyPrefix,
    runnerId: entity.runnerId,
    projectId: entity.projectId,
    createdAt: entity.createdAt.toISOString(),
  };
}
