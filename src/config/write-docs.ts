/** `npm run config:docs` (from the repository root): rewrite .env.example and the README's configuration table from the schema. */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderEnvExample, withReadmeTable } from './docs.js';

// The working directory, not this module's folder: a development tool, never run from the image.
writeFileSync(resolve('.env.example'), renderEnvExample());
const readme = resolve('README.md');
writeFileSync(readme, withReadmeTable(readFileSync(readme, 'utf8')));
process.stdout.write('wrote .env.example and README.md (configuration table)\n');
