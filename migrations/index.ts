import { EngineEvents1795864688494 } from './1795864688494-EngineEvents';
import { InitialSchema1764316800000 } from './1764316800000-InitialSchema';

/** Every migration, oldest first: the only way the schema changes (STYLE.md §7). */
export const MIGRATIONS = [InitialSchema1764316800000, EngineEvents1795864688494];
