/**
 * Recording and quality inspection: segments of every call recorded (gaps reported), kept for the
 * retention period (legal holds excepted), played back through audited routes; calls noted for
 * quality sampling once their ticket exists, samples and scores. After each ticket it links the
 * call's recordings to the ticket and notes the call for sampling.
 */
import type { AccessServices } from '../access/feature.js';
import type { Acd } from '../acd/service.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { callInfoFromTickets, qualityRoutes } from '../http/routes/quality.js';
import { recordingRoutes } from '../http/routes/recordings.js';
import type { AriTelephony } from '../telephony/ari-telephony.js';
import type { TicketServices } from '../tickets/feature.js';
import { createRecordingJobs, type RecordingJobs } from './jobs.js';
import { candidateFromRecord, QualityService } from './quality.js';
import { RecordingService } from './service.js';
import { RecordingStore } from './store.js';

export interface RecordingServices {
  readonly recordings: RecordingService;
  /** Quality inspection: calls noted for sampling, samples, scores. */
  readonly quality: QualityService;
  readonly recordingJobs: RecordingJobs;
}

export function recordingFeature(
  core: Core,
  deps: {
    telephony: AriTelephony;
    access: Pick<AccessServices, 'audit'>;
    acd: Pick<Acd, 'listAgents'>;
    tickets: Pick<TicketServices, 'tickets' | 'afterTicket'>;
  },
): RecordingServices & Feature {
  const { config, log, redis, prefix } = core;
  const { audit } = deps.access;
  const recordings = new RecordingService({
    telephony: deps.telephony,
    store: new RecordingStore(redis, prefix),
    log,
    recordingsDir: config.recording.dir,
    retentionDays: config.recording.retentionDays,
    audit,
    onGap: (g) => log.warn({ callId: g.callId, reason: g.reason }, 'recording gap'),
  });
  deps.telephony.onEvent((e) => void recordings.onEvent(e).catch((err: Error) => log.warn({ err: err.message }, 'recording event failed')));
  const quality = new QualityService({ redis, prefix, ratePercent: config.recording.qualitySamplePercent });
  const recordingJobs = createRecordingJobs({
    connection: { ...core.redisOpts, maxRetriesPerRequest: null },
    prefix,
    service: recordings,
    log,
    sampling: { run: () => quality.runSampling() },
    worker: core.workers,
  });
  deps.tickets.afterTicket(async (ticketNo, job) => {
    await recordings.linkTicket(job.record.callId, ticketNo);
    // Sampled per agent and seat group: an agent's first group is the one their calls count in.
    const groups = new Map((await deps.acd.listAgents()).map((a) => [a.id, a.groups[0]] as const));
    const candidate = candidateFromRecord(job.record, ticketNo, (id) => groups.get(id));
    if (candidate) await quality.noteCall(candidate);
  });
  return {
    name: 'recording',
    recordings,
    quality,
    recordingJobs,
    async routes(http) {
      await http.register(recordingRoutes, { service: recordings, audit });
      await http.register(qualityRoutes, { quality, audit, callInfo: callInfoFromTickets(deps.tickets.tickets), targetScore: config.recording.qualityTargetScore });
    },
    async start() {
      await recordingJobs.schedule().catch((err: Error) => log.warn({ err: err.message }, 'recording jobs not scheduled'));
    },
    async stop(step) {
      recordings.close();
      await step('recording jobs', recordingJobs.close());
    },
  };
}
