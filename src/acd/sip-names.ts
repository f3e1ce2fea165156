/**
 * One naming scheme for an agent's SIP identity, used by the ACD, the dial string, the
 * softphone page and Asterisk's configuration (asterisk/docker-entrypoint.sh generates one
 * endpoint + AOR + auth per AGENT_SIP_PASSWORDS entry):
 *
 *   seat extension `1001`  ↔  PJSIP endpoint, AOR and SIP user `agent1001`  ↔  dial `PJSIP/agent1001`
 *
 * The prefix keeps a citizen whose number happens to be "1001" from ever being identified as an
 * agent by username. tests/unit/sip-names.test.ts reads pjsip.conf, the entrypoint and the seat
 * data and fails if any of them drifts from this scheme.
 */
export const AGENT_ENDPOINT_PREFIX = 'agent';

/** A seat's extension: 3 to 8 digits (the entrypoint accepts `agent[0-9]{3,8}`). */
export const EXTENSION_RE = /^[0-9]{3,8}$/;

/** The default dial string of an agent's softphone. */
export const DEFAULT_AGENT_DIAL_TEMPLATE = `PJSIP/${AGENT_ENDPOINT_PREFIX}{ext}`;

/** `1001` → `agent1001`. */
export function agentEndpoint(extension: string): string {
  return `${AGENT_ENDPOINT_PREFIX}${extension}`;
}

/** `agent1001` (an AOR or endpoint name from AMI) → `1001`; anything else → undefined. */
export function extensionOfEndpoint(name: string): string | undefined {
  if (!name.startsWith(AGENT_ENDPOINT_PREFIX)) return undefined;
  const ext = name.slice(AGENT_ENDPOINT_PREFIX.length);
  return EXTENSION_RE.test(ext) ? ext : undefined;
}
