/**
 * Render our asterisk/ + dialplan/ the way production does (asterisk/docker-entrypoint.sh --render-only)
 * into a fresh temporary directory, for tests that read the rendered configuration. Strong throwaway
 * secrets are filled in; `env` adds or overrides variables (AGENT_SIP_PASSWORDS, SIP_TRUNK_* …).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './asterisk.js';

export interface Rendered {
  /** The rendered etc directory (Asterisk's astetcdir); the caller removes it. */
  etc: string;
  status: number | null;
  stderr: string;
}

export function renderAsteriskConfig(env: Record<string, string> = {}, label = 'render-'): Rendered {
  const etc = mkdtempSync(join(tmpdir(), label));
  const r = spawnSync('sh', [join(REPO_ROOT, 'asterisk', 'docker-entrypoint.sh'), '--render-only'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ASTERISK_CONF_SRC: join(REPO_ROOT, 'asterisk'),
      DIALPLAN_SRC: join(REPO_ROOT, 'dialplan'),
      ASTERISK_ETC: etc,
      ARI_PASSWORD: 'Ari-Strong-Secret-1',
      AMI_SECRET: 'Ami-Strong-Secret-1',
      ...env,
    },
  });
  return { etc, status: r.status, stderr: r.stderr };
}
