// `npm run openapi`: writes docs/openapi.json from the API contract schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../functions/shared/api-contract.ts';
import { NURTURE_VERSION } from '../functions/shared/build-info.ts';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(openApiDocument(NURTURE_VERSION), null, 2)}\n`);
console.log(`wrote ${target}`);
