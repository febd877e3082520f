import { IsIn, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { IsOmittable } from '../../common/dto/is-omittable';
import { API_KEY_SCOPES, type ApiKeyScope } from '../api-key-scope';
import { CanonicalId } from '../../common/dto/canonical-id';

export class CreateApiKeyDto {
  /** What the key is for, e.g. "ci" or "gpu fleet A". */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  /** `admin` (everything), `user` (studies and trials) or `runner` (register runners). */
  @IsIn(API_KEY_SCOPES)
  scope: ApiKeyScope;

  /**
   * The project a `user` or `runner` key acts in (default: the default project); not allowed
   * for `admin` keys, which see every project.
   */
  @IsOmittable()
  @CanonicalId()
  @IsUUID('all')
  projectId?: string;
}
