import { IsString, MaxLength, MinLength } from 'class-validator';
import { IntegerProperty } from '../../common/dto/is-integer';

export class ImportNomadCacheDto {
  /** The text of a NOMAD 4 cache file: `( x… ) BB_EVAL_OK ( outputs… )` lines, outputs in the study's output order. */
  @IsString()
  @MinLength(1)
  @MaxLength(4_000_000)
  cacheFile: string;
}

export class ImportNomadCacheResponseDto {
  /** Evaluations added as trials (origin `import`) and told to the engine. */
  @IntegerProperty()
  imported: number;
  /** Points that were already trials of the study. */
  @IntegerProperty()
  skipped: number;
}
