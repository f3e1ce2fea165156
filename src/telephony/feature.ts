/**
 * The PBX link: ARI (calls) and AMI (softphone registrations). Built early — other features listen
 * to it — but opened last, once every listener is in place (a StasisStart must find the call manager
 * listening), and closed first, right after the calls stop listening.
 */
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { AmiPbx } from './ami-pbx.js';
import { AriTelephony } from './ari-telephony.js';
import { AriLinkLock } from './link-lock.js';

export interface TelephonyServices {
  readonly telephony: AriTelephony;
  readonly ami: AmiPbx | undefined;
  /** Listen to every ARI request's latency (admission control smooths it). */
  onAriLatency(fn: (seconds: number) => void): void;
}

export function telephonyFeature(core: Core): TelephonyServices & Feature {
  const { config, log, metrics, opts } = core;
  const latency: Array<(seconds: number) => void> = [];
  const telephony = new AriTelephony({
    url: config.ari.url,
    user: config.ari.user,
    password: config.ari.password,
    app: config.ari.app,
    requestTimeoutMs: config.ari.requestTimeoutMs,
    maxInFlight: config.ari.maxInFlight,
    pingIntervalMs: config.ari.pingIntervalMs,
    logger: log,
    ...(opts.ariBackoff ? { backoff: opts.ariBackoff } : {}),
    observe: (operation, seconds, errorKind) => {
      metrics.ariRequest(operation, seconds, errorKind);
      for (const fn of latency) fn(seconds);
    },
  });
  let ariConnectedBefore = false;
  telephony.onLinkState((state) => {
    if (state !== 'connected') return;
    if (ariConnectedBefore) metrics.ariReconnected();
    ariConnectedBefore = true;
  });
  const ami = config.ami.enabled
    ? new AmiPbx({ host: config.ami.host, port: config.ami.port, user: config.ami.user, secret: config.ami.secret, logger: log })
    : undefined;
  // ARI_EXCLUSIVE: beside the instance that drives this Asterisk, wait as its standby (link-lock.ts).
  const lock = config.ari.exclusive
    ? new AriLinkLock({ redis: core.redis, prefix: core.prefix, ariUrl: config.ari.url, app: config.ari.app, instanceId: core.instanceId, leaseMs: config.callState.leaseMs, log })
    : undefined;
  const openLinks = () => {
    telephony.start();
    ami?.start();
    log.info({ app: config.ari.app, city: config.city }, 'hotline server started');
  };
  return {
    name: 'telephony',
    telephony,
    ami,
    onAriLatency: (fn) => void latency.push(fn),
    open() {
      if (lock) lock.start(openLinks);
      else openLinks();
    },
    async close(step) {
      await step('ari', telephony.stop());
      await step('ami', ami?.stop());
      await step('ari link lock', lock?.stop({ release: true }));
    },
  };
}
