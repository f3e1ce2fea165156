/**
 * Recording of answered calls, one recording per bridge segment.
 *
 * @remarks
 * The call session drives it through a narrow port ({@link RecordingPort}):
 * `segmentStarted` when the mixing bridge has the caller and an agent (and
 * again for each hand-off segment), `segmentEnded` when a segment is over,
 * `callEnded` at the end. Telephony events (`RecordingStarted/Finished/Failed`)
 * come in through {@link RecordingService.onEvent}; the service ignores any
 * recording it did not name.
 *
 * Recording never blocks the citizen: every method resolves (errors are
 * logged and turned into a {@link RecordingGap}), and the session must not
 * await it on the call's critical path if it cares about latency.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RecordOptions, Telephony, TelephonyEvent } from '../telephony/port.js';
import { TelephonyError } from '../telephony/port.js';
import {
  DEFAULT_RECORDINGS_DIR,
  RECORDING_NOTICE_PROMPT,
  isExpired,
  isRecordingName,
  recordingFile,
  recordingName,
  type RecordingGap,
  type RecordingMeta,
} from './model.js';
import type { RecordingStore } from './store.js';

/** What the session tells the service when a segment starts. */
export interface SegmentStart {
  callId: string;
  /** The mixing bridge holding caller and agent (`call-<callId>`). */
  bridgeId: string;
  /** 1 for the first agent, +1 per hand-off segment. */
  segment: number;
  agentId?: string;
  /** The route's decision (`RouteDecision.record`). */
  recordingEnabled: boolean;
  /** The caller heard the recording notice. */
  announce: boolean;
}

export interface SegmentEnd {
  callId: string;
  segment: number;
}

/** The outcome of a segment start, for the call path. */
export type SegmentResult =
  | { status: 'off' }
  | { status: 'started'; name: string }
  /** The start request timed out: Asterisk may be recording; the watchdog flags a gap if no RecordingStarted comes. */
  | { status: 'unconfirmed'; name: string }
  | { status: 'gap'; name: string; reason: string };

/** What a call session needs from recording (the composition root binds it to {@link RecordingService}). */
export interface RecordingPort {
  shouldAnnounce(route: { record: boolean }): boolean;
  readonly announcementPrompt: string;
  segmentStarted(s: SegmentStart): Promise<SegmentResult>;
  segmentEnded(s: SegmentEnd): Promise<void>;
  callEnded(callId: string): Promise<void>;
}

/** Audit port (access/audit.ts `AuditLog` fits). */
export interface RecordingAudit {
  record(e: { actor: string; action: string; target?: string; detail?: string; ip?: string }): Promise<void>;
}

export interface RecordingServiceOptions {
  telephony: Pick<Telephony, 'recordBridge' | 'stopRecording'>;
  store: RecordingStore;
  log: Logger;
  /** Asterisk's recordings directory as this server sees it (a shared volume). */
  recordingsDir?: string;
  /** Default wav. */
  format?: string;
  /** Retention in days (0 or absent: keep for ever). */
  retentionDays?: number;
  /** Play the notice before the agent joins on routes that record (default true). */
  announce?: boolean;
  /** Cap of one segment's length (ARI maxDurationSeconds); default 4 h. */
  maxDurationSec?: number;
  /** A recording with no RecordingStarted within this is a gap; default 5000 ms (0 = no watchdog). */
  startTimeoutMs?: number;
  now?: () => number;
  /** Told about each gap as it happens (supervisor wallboard push). */
  onGap?: (gap: RecordingGap) => void;
  audit?: RecordingAudit;
}

export interface PurgeResult {
  deleted: string[];
  held: string[];
  failed: { name: string; error: string }[];
}

export class RecordingService implements RecordingPort {
  readonly announcementPrompt = RECORDING_NOTICE_PROMPT;
  readonly recordingsDir: string;
  readonly format: string;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly watchdogs = new Map<string, NodeJS.Timeout>();

  constructor(private readonly o: RecordingServiceOptions) {
    this.recordingsDir = o.recordingsDir ?? DEFAULT_RECORDINGS_DIR;
    this.format = o.format ?? 'wav';
    this.now = o.now ?? Date.now;
    this.log = o.log.child({ component: 'recording' });
  }

  get store(): RecordingStore {
    return this.o.store;
  }

  get retentionDays(): number {
    return this.o.retentionDays ?? 0;
  }

  /** Should the session play {@link announcementPrompt} before the agent joins? */
  shouldAnnounce(route: { record: boolean }): boolean {
    return route.record && this.o.announce !== false;
  }

  /** Start recording a segment; never throws. */
  async segmentStarted(s: SegmentStart): Promise<SegmentResult> {
    if (!s.recordingEnabled) return { status: 'off' };
    let name: string;
    try {
      name = recordingName(s.callId, s.segment);
    } catch (err) {
      const reason = `bad-segment: ${(err as Error).message}`;
      await this.gap({ callId: s.callId, segment: s.segment, name: '', reason, ...(s.agentId ? { agentId: s.agentId } : {}) });
      return { status: 'gap', name: '', reason };
    }
    const meta: RecordingMeta = {
      name,
      callId: s.callId,
      segment: s.segment,
      bridgeId: s.bridgeId,
      ...(s.agentId ? { agentId: s.agentId } : {}),
      format: this.format,
      state: 'starting',
      announced: s.announce,
      startedAt: this.now(),
      legalHold: false,
    };
    const gapOf = (reason: string): RecordingGap => ({ callId: s.callId, segment: s.segment, name, reason, at: this.now(), ...(s.agentId ? { agentId: s.agentId } : {}) });
    let created: boolean;
    try {
      created = await this.o.store.create(meta);
    } catch (err) {
      // Without metadata a file would be an orphan nobody can find: do not record, flag it.
      const reason = `store-failed: ${(err as Error).message}`;
      await this.gap(gapOf(reason));
      return { status: 'gap', name, reason };
    }
    if (!created) {
      const reason = 'name-conflict: a recording of this segment exists already';
      await this.gap(gapOf(reason));
      return { status: 'gap', name, reason };
    }
    const options: RecordOptions = { name, format: this.format, ifExists: 'fail', beep: false, maxDurationSeconds: this.o.maxDurationSec ?? 4 * 3600 };
    try {
      await this.o.telephony.recordBridge(s.bridgeId, options);
    } catch (err) {
      const kind = err instanceof TelephonyError ? err.kind : 'failed';
      if (kind === 'timeout') {
        // The request may have reached Asterisk: keep the metadata so a late RecordingStarted finds it.
        this.armWatchdog(name, gapOf, true);
        this.log.warn({ callId: s.callId, segment: s.segment, name }, 'recording start timed out; waiting for RecordingStarted');
        return { status: 'unconfirmed', name };
      }
      const reason = `start-failed: ${kind === 'conflict' ? 'name-conflict' : kind}: ${(err as Error).message}`;
      // The name may belong to a file that is not ours (ifExists=fail): forget our metadata, keep the file.
      await this.o.store.forget(name).catch(() => undefined);
      await this.gap(gapOf(reason));
      return { status: 'gap', name, reason };
    }
    this.armWatchdog(name, gapOf);
    this.log.info({ callId: s.callId, segment: s.segment, name }, 'recording started');
    return { status: 'started', name };
  }

  private armWatchdog(name: string, gapOf: (reason: string) => RecordingGap, always = false): void {
    const configured = this.o.startTimeoutMs ?? 5000;
    const ms = configured > 0 ? configured : always ? 5000 : 0;
    if (ms <= 0) return;
    const t = setTimeout(() => {
      this.watchdogs.delete(name);
      void (async () => {
        const m = await this.o.store.get(name);
        if (m?.state !== 'starting') return;
        await this.o.store.update(name, { state: 'failed', failure: 'no RecordingStarted event', endedAt: this.now() });
        await this.gap(gapOf('no-start-event: Asterisk never reported the recording as started'));
      })().catch((err: Error) => this.log.warn({ err: err.message, name }, 'recording watchdog failed'));
    }, ms);
    t.unref?.();
    this.watchdogs.set(name, t);
  }

  private clearWatchdog(name: string): void {
    clearTimeout(this.watchdogs.get(name));
    this.watchdogs.delete(name);
  }

  /** Stop one segment's recording (a hand-off starts the next). Never throws. */
  async segmentEnded(s: SegmentEnd): Promise<void> {
    let name: string;
    try {
      name = recordingName(s.callId, s.segment);
    } catch {
      return;
    }
    await this.stop(name);
  }

  /** Stop whatever is still recording for the call. Never throws. */
  async callEnded(callId: string): Promise<void> {
    try {
      const list = await this.o.store.byCall(callId);
      await Promise.all(list.filter((m) => m.state === 'starting' || m.state === 'recording').map((m) => this.stop(m.name)));
    } catch (err) {
      this.log.warn({ err: (err as Error).message, callId }, 'could not stop the recordings of a call');
    }
  }

  private async stop(name: string): Promise<void> {
    try {
      // stopRecording is quiet on "not found": destroying the bridge already ended it.
      await this.o.telephony.stopRecording(name);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, name }, 'could not stop recording');
    }
  }

  /** Recording events from the telephony port; other events and names are ignored. */
  async onEvent(e: TelephonyEvent): Promise<void> {
    if (e.type !== 'RecordingStarted' && e.type !== 'RecordingFinished' && e.type !== 'RecordingFailed') return;
    if (!isRecordingName(e.name)) return;
    try {
      if (e.type === 'RecordingStarted') {
        this.clearWatchdog(e.name);
        await this.o.store.update(e.name, { state: 'recording' });
        return;
      }
      this.clearWatchdog(e.name);
      const m = await this.o.store.get(e.name);
      if (!m) return;
      if (e.type === 'RecordingFinished') {
        await this.o.store.update(e.name, { state: 'done', endedAt: this.now(), ...(e.durationSec !== undefined ? { durationSec: e.durationSec } : {}) });
        await this.o.store.markFilePending(e.name, true);
        await this.fillFileInfo(e.name);
        this.log.info({ callId: m.callId, segment: m.segment, name: e.name, durationSec: e.durationSec }, 'recording finished');
        return;
      }
      await this.o.store.update(e.name, { state: 'failed', endedAt: this.now(), failure: e.cause ?? 'failed' });
      await this.gap({ callId: m.callId, segment: m.segment, name: e.name, reason: `recording-failed: ${e.cause ?? 'Asterisk reported RecordingFailed'}`, at: this.now(), ...(m.agentId ? { agentId: m.agentId } : {}) });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, name: e.name, event: e.type }, 'recording event not applied');
    }
  }

  /** Link all segments of a call to its ticket (ticket worker's onTicket). */
  async linkTicket(callId: string, ticketNo: string): Promise<void> {
    try {
      await this.o.store.linkTicket(callId, ticketNo);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, callId, ticketNo }, 'could not link recordings to the ticket');
    }
  }

  /** The file of a recording inside the recordings directory. */
  fileOf(m: Pick<RecordingMeta, 'name' | 'format'>): string {
    return recordingFile(this.recordingsDir, m.name, m.format);
  }

  /**
   * Fill size and sha256 once Asterisk's file exists (the simulated PBX writes
   * none; tests create it). Returns false while the file is not there yet.
   */
  async fillFileInfo(name: string): Promise<boolean> {
    const m = await this.o.store.get(name);
    if (!m) {
      await this.o.store.markFilePending(name, false);
      return false;
    }
    const file = this.fileOf(m);
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) return false;
      size = st.size;
    } catch {
      return false;
    }
    const sha256 = await sha256File(file);
    await this.o.store.update(name, { size, sha256, filePath: file });
    await this.o.store.markFilePending(name, false);
    return true;
  }

  /** Retry {@link fillFileInfo} for finished recordings whose file was missing (run by the maintenance job). */
  async fillPending(): Promise<number> {
    let n = 0;
    for (const name of await this.o.store.filePending()) if (await this.fillFileInfo(name)) n++;
    return n;
  }

  async gap(g: Omit<RecordingGap, 'at'> & { at?: number }): Promise<void> {
    const gap: RecordingGap = { ...g, at: g.at ?? this.now() };
    this.log.warn({ callId: gap.callId, segment: gap.segment, reason: gap.reason }, 'recording gap');
    try {
      await this.o.store.addGap(gap);
    } catch (err) {
      this.log.error({ err: (err as Error).message, callId: gap.callId }, 'could not store a recording gap');
    }
    try {
      this.o.onGap?.(gap);
    } catch {
      // a listener's problem
    }
  }

  gaps(limit?: number): Promise<RecordingGap[]> {
    return this.o.store.gaps(limit);
  }

  gapCount(): Promise<number> {
    return this.o.store.gapCount();
  }

  get(name: string): Promise<RecordingMeta | undefined> {
    return this.o.store.get(name);
  }

  byCall(callId: string): Promise<RecordingMeta[]> {
    return this.o.store.byCall(callId);
  }

  byTicket(ticketNo: string): Promise<RecordingMeta[]> {
    return this.o.store.byTicket(ticketNo);
  }

  async setLegalHold(name: string, by: string, reason: string): Promise<'ok' | 'missing' | 'deleting'> {
    return this.o.store.setLegalHold(name, by, this.now(), reason);
  }

  async clearLegalHold(name: string): Promise<'ok' | 'missing'> {
    return this.o.store.clearLegalHold(name);
  }

  /**
   * Delete recordings older than the retention period, except those on legal
   * hold: file first, then metadata; each deletion is audited. With no
   * retention configured nothing is deleted.
   */
  async purgeExpired(now = this.now(), days = this.retentionDays): Promise<PurgeResult> {
    const result: PurgeResult = { deleted: [], held: [], failed: [] };
    if (!(days > 0)) return result;
    const cutoff = now - days * 86_400_000;
    // Page by offset over what is left: deleted entries leave the index, kept ones move the offset.
    let offset = 0;
    for (;;) {
      const batch = await this.o.store.startedBefore(cutoff, 200, offset);
      if (batch.length === 0) break;
      for (const name of batch) {
        const m = await this.o.store.get(name);
        if (!m) {
          await this.o.store.forget(name);
          continue;
        }
        if (!isExpired(m, days, now)) {
          result.held.push(name);
          offset++;
          continue;
        }
        const r = await this.deleteRecording(m, 'system', `retention ${days} d`);
        if (r === 'deleted') result.deleted.push(name);
        if (r === 'deleted' || r === 'missing') continue;
        offset++;
        if (r === 'held') result.held.push(name);
        else result.failed.push({ name, error: r.error });
      }
    }
    if (result.deleted.length || result.failed.length) {
      this.log.info({ deleted: result.deleted.length, held: result.held.length, failed: result.failed.length }, 'recording retention ran');
    }
    return result;
  }

  /** Delete one recording (file + metadata), audited; refused while on legal hold. */
  async deleteRecording(m: RecordingMeta, actor: string, why: string): Promise<'deleted' | 'held' | 'missing' | { error: string }> {
    const claim = await this.o.store.claimForDeletion(m.name);
    if (claim !== 'ok') return claim;
    try {
      await unlink(this.fileOf(m));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        await this.o.store.releaseClaim(m.name);
        return { error: (err as Error).message };
      }
    }
    await this.o.store.finishDeletion(m.name);
    try {
      await this.o.audit?.record({
        actor,
        action: 'recording-deleted',
        target: `call:${m.callId}`,
        detail: `seg${m.segment}${m.ticketNo ? ` ticket ${m.ticketNo}` : ''}: ${why}`,
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message, name: m.name }, 'recording deleted but the audit entry failed');
    }
    return 'deleted';
  }

  /** Clear timers (app stop). */
  close(): void {
    for (const t of this.watchdogs.values()) clearTimeout(t);
    this.watchdogs.clear();
  }
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
