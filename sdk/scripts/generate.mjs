// Writes the SDK's generated sources from the committed api/openapi.json:
// - src/generated/openapi.ts: the paths and schemas, with openapi-typescript;
// - src/generated/error-codes.ts: the API's error codes and their HTTP status, from the ErrorBody
//   schema's `x-error-status` (so the SDK can never list a code the API does not send).
// `--check` writes nothing and exits 1 when a committed file differs (CI: stale types).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const sdkRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const specArgIndex = process.argv.indexOf('--spec');
const specPath =
  specArgIndex === -1 ? join(sdkRoot, '..', 'api', 'openapi.json') : resolve(process.argv[specArgIndex + 1]);
const check = process.argv.includes('--check');

const header = `/**
 * Generated from api/openapi.json by sdk/scripts/generate.mjs. Do not edit by hand:
 * run \`npm run generate -w sdk\` after changing the API.
 */

`;

function errorCodesSource(spec) {
  const statuses = spec.components?.schemas?.ErrorBody?.['x-error-status'];
  if (typeof statuses !== 'object' || statuses === null) {
    throw new Error(`${specPath}: components.schemas.ErrorBody has no x-error-status map`);
  }
  const entries = Object.entries(statuses).map(([code, status]) => `  ${code}: ${Number(status)},`);
  return `${header}/** The API's error codes and the HTTP status each is answered with. */\nexport const ERROR_STATUS = {\n${entries.join('\n')}\n} as const;\n`;
}

const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const outputs = [
  [
    join(sdkRoot, 'src', 'generated', 'openapi.ts'),
    header + astToString(await openapiTS(pathToFileURL(specPath), { alphabetize: true })),
  ],
  [join(sdkRoot, 'src', 'generated', 'error-codes.ts'), errorCodesSource(spec)],
];

let stale = false;
for (const [target, generated] of outputs) {
  if (check) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing file: reported as stale below
    }
    if (current !== generated) {
      stale = true;
      process.stderr.write(
        `${relative(process.cwd(), target)} is stale: it differs from what ${relative(process.cwd(), specPath)} gives. Run \`npm run generate -w sdk\` and commit the result.\n`,
      );
    }
  } else {
    writeFileSync(target, generated);
    process.stdout.write(`sdk: wrote ${relative(process.cwd(), target)}\n`);
  }
}
if (check && stale) process.exit(1);
if (check) process.stdout.write('sdk: generated sources are up to date\n');
