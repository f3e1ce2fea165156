import { describe, expect, it } from 'vitest';
import { hashToMeta, isExpired, isRecordingName, metaToHash, recordingFile, recordingName, type RecordingMeta } from '../../src/recording/model.js';
import { contentRange, parseRange } from '../../src/recording/range.js';

describe('recording names', () => {
  it('derive call-<callId>-seg<n> from an Asterisk channel id', () => {
    expect(recordingName('1795336287.172503', 1)).toBe('call-1795336287.172503-seg1');
    expect(recordingName('1795336287.172503', 2)).toBe('call-1795336287.172503-seg2');
  });

  it('are deterministic: the same call and segment always give the same name', () => {
    expect(recordingName('abc-1', 3)).toBe(recordingName('abc-1', 3));
    expect(recordingName('abc-1', 3)).not.toBe(recordingName('abc-1', 4));
  });

  it('keep only characters Asterisk and filesystems accept (no path separators, no spaces)', () => {
    const n = recordingName('../etc/pass wd;$x', 1);
    expect(n).toMatch(/^call-[A-Za-z0-9._-]+-seg1$/);
    expect(n).not.toContain('/');
    expect(n).not.toContain('..');
    expect(isRecordingName(n)).toBe(true);
  });

  it('cap the length of very long call ids', () => {
    expect(recordingName('x'.repeat(500), 9999).length).toBeLessThanOrEqual(160);
  });

  it('refuse segment 0, fractions and empty call ids', () => {
    expect(() => recordingName('c', 0)).toThrow(RangeError);
    expect(() => recordingName('c', 1.5)).toThrow(RangeError);
    expect(() => recordingName('', 1)).toThrow(RangeError);
  });

  it('recognise only our own names (events of other recordings are ignored)', () => {
    expect(isRecordingName('trace-rec-1795336287333')).toBe(false);
    expect(isRecordingName('call-1.2-seg1')).toBe(true);
    expect(isRecordingName('call-../x-seg1')).toBe(false);
  });

  it('place files inside the recordings directory only', () => {
    expect(recordingFile('/var/spool/asterisk/recording', 'call-1.2-seg1', 'wav')).toBe('/var/spool/asterisk/recording/call-1.2-seg1.wav');
    expect(() => recordingFile('/r', '../x', 'wav')).toThrow();
    expect(() => recordingFile('/r', 'call-1-seg1', '../wav')).toThrow();
  });
});

describe('recording metadata', () => {
  const meta: RecordingMeta = {
    name: 'call-1.2-seg1', callId: '1.2', segment: 1, bridgeId: 'call-1.2', agentId: '1001', format: 'wav', state: 'done',
    announced: true, startedAt: 1000, durationSec: 12, size: 44, sha256: 'ab', legalHold: false,
  };

  it('round-trips through a Redis hash with numbers and booleans', () => {
    expect(hashToMeta(metaToHash(meta))).toEqual(meta);
  });

  it('expires after the retention period unless on legal hold', () => {
    const day = 86_400_000;
    expect(isExpired(meta, 30, 1000 + 30 * day - 1)).toBe(false);
    expect(isExpired(meta, 30, 1000 + 30 * day)).toBe(true);
    expect(isExpired({ ...meta, legalHold: true }, 30, 1000 + 365 * day)).toBe(false);
  });
});

describe('HTTP range parsing', () => {
  it('serves the whole file without a Range header, in another unit, or for several ranges', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
  });

  it('parses closed, open and suffix ranges and clamps the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=50-5000', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    expect(contentRange({ start: 50, end: 99 }, 100)).toBe('bytes 50-99/100');
  });

  it('answers unsatisfiable for ranges past the end, reversed, empty or malformed', () => {
    for (const h of ['bytes=100-', 'bytes=100-200', 'bytes=9-3', 'bytes=-0', 'bytes=-', 'bytes=abc', 'bytes=1-2-3']) {
      expect(parseRange(h, 100), h).toEqual({ kind: 'unsatisfiable' });
    }
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});
