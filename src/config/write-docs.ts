/** `npm run config:docs`: rewrite .env.example and the README's configuration table from the schema. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderEnvExample, withReadmeTable } from './docs.js';

const root = new URL('../../', import.meta.url);
writeFileSync(new URL('.env.example', root), renderEnvExample());
const readme = new URL('README.md', root);
writeFileSync(readme, withReadmeTable(readFileSync(readme, 'utf8')));
process.stdout.write('wrote .env.example and README.md (configuration table)\n');
