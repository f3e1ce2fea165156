/**
 * The intake of requests that do not come by phone (pure: no I/O).
 *
 * - Messages of the centre's own channels (web column, WeChat, mini-program, app, SMS gateway,
 *   mayor's mailbox) and work orders of higher platforms (national/provincial/city platform,
 *   政企通, 接诉即办) are checked field by field here; the first fault names its field.
 * - Every delivery is signed: `x-hotline-timestamp` (Unix seconds) and
 *   `x-hotline-signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`, with the
 *   channel's (or platform's) own secret. The timestamp is inside the signature, so a captured
 *   request cannot be replayed outside the window, and within it the message id makes a replay
 *   the same ticket.
 * - Idempotency: one ticket per (channel, message id) — per (platform, order number) for work
 *   orders. The same id with another body is a conflict, judged on a canonical form of the
 *   parsed message (key order and white space of the JSON do not matter).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parseIsoDateTime, ISO_DATETIME_HINT } from '../util/datetime.js';
import {
  INTAKE_CHANNELS,
  REQUESTER_KINDS,
  TICKET_CATEGORIES,
  UPSTREAM_PLATFORMS,
  URGENCIES,
  type AttachmentRef,
  type IntakeChannelKind,
  type RequesterKind,
  type TicketCategory,
  type UpstreamPlatform,
  type Urgency,
} from '../tickets/model.js';

export { INTAKE_CHANNELS, UPSTREAM_PLATFORMS };
export type { IntakeChannelKind, UpstreamPlatform };

export const TIMESTAMP_HEADER = 'x-hotline-timestamp';
export const SIGNATURE_HEADER = 'x-hotline-signature';

/** Channel names in zh-CN / English (pages, exports). */
export const CHANNEL_NAMES: Record<IntakeChannelKind | UpstreamPlatform | '12345' | 'legacy-line' | 'upstream', { zh: string; en: string }> = {
  '12345': { zh: '12345 电话', en: '12345 phone' },
  'legacy-line': { zh: '归并热线电话', en: 'merged legacy line' },
  web: { zh: '网站', en: 'website' },
  wechat: { zh: '微信公众号', en: 'WeChat' },
  'mini-program': { zh: '小程序', en: 'mini-program' },
  app: { zh: '手机 APP', en: 'mobile app' },
  sms: { zh: '短信', en: 'SMS' },
  mailbox: { zh: '市长信箱', en: "mayor's mailbox" },
  upstream: { zh: '上级平台工单', en: 'higher platform work order' },
  national: { zh: '国家平台（互联网督查、国家政务网、中国政府网留言）', en: 'national platform' },
  provincial: { zh: '省 12345 平台', en: 'provincial 12345 platform' },
  city: { zh: '市 12345 平台', en: 'city 12345 platform' },
  zhengqitong: { zh: '政企通', en: 'Zhengqitong (enterprise platform)' },
  jiesujiban: { zh: '接诉即办', en: 'Jiesu Jiban (province)' },
};

/** A fault in the input: the field at fault and a zh-CN / English message. */
export interface FieldFault {
  field: string;
  message: string;
}
export type Parsed<T> = { ok: true; value: T } | ({ ok: false } & FieldFault);

const fault = (field: string, message: string): { ok: false } & FieldFault => ({ ok: false, field, message });

/** Ids of messages, orders and attachments: letters, digits and `_ . : -`. */
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/;
export const SUMMARY_MAX = 2000;
export const ATTACHMENTS_MAX = 10;

/** What a channel sends for one request. */
export interface IntakeMessage {
  messageId: string;
  category: TicketCategory;
  requesterKind: RequesterKind;
  urgency: Urgency;
  summary: string;
  /** The citizen's phone, digits only (mobile or landline with area code): callbacks (回访) need it. */
  phone: string;
  name?: string;
  topics: string[];
  attachments: AttachmentRef[];
}

/** A higher platform's work order: a request plus the platform's number and deadlines. */
export interface WorkOrder extends Omit<IntakeMessage, 'messageId'> {
  orderNo: string;
  issuedAt: number;
  replyBy?: number;
  finishBy: number;
}

function text(b: Record<string, unknown>, field: string, o: { required?: boolean; max: number }): Parsed<string | undefined> {
  const v = b[field];
  if (v === undefined || v === null || v === '') return o.required ? fault(field, '必填 / is required') : { ok: true, value: undefined };
  if (typeof v !== 'string') return fault(field, '必须是字符串 / must be a string');
  if (CONTROL.test(v)) return fault(field, '不能含控制字符 / must not contain control characters');
  if (o.required && !v.trim()) return fault(field, '必填，不能只有空白 / is required and must not be only whitespace');
  if (v.length > o.max) return fault(field, `最长 ${o.max} 字符 / at most ${o.max} characters`);
  return { ok: true, value: v.trim() };
}

function enumOf<T extends string>(b: Record<string, unknown>, field: string, values: readonly T[], dflt?: T): Parsed<T> {
  const v = b[field];
  if ((v === undefined || v === null) && dflt !== undefined) return { ok: true, value: dflt };
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) return fault(field, `必须是 ${values.join(', ')} 之一 / must be one of ${values.join(', ')}`);
  return { ok: true, value: v as T };
}

/**
 * A citizen's phone as written (spaces, dashes, +86 allowed) → digits: a mobile `1[3-9]` + 9 digits,
 * or a landline with its area code (0 + 9–11 digits).
 */
export function normalizePhone(v: string): string | undefined {
  const d = v.replace(/[\s()-]/g, '').replace(/^(\+86|0086)/, '');
  if (/^1[3-9]\d{9}$/.test(d) || /^0\d{9,11}$/.test(d)) return d;
  return undefined;
}

function attachmentsOf(v: unknown): Parsed<AttachmentRef[]> {
  if (v === undefined || v === null) return { ok: true, value: [] };
  if (!Array.isArray(v)) return fault('attachments', '必须是数组 / must be an array');
  if (v.length > ATTACHMENTS_MAX) return fault('attachments', `最多 ${ATTACHMENTS_MAX} 个 / at most ${ATTACHMENTS_MAX}`);
  const out: AttachmentRef[] = [];
  for (const [i, a] of v.entries()) {
    const p = `attachments[${i}]`;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return fault(p, '必须是对象 {ref, sha256} / must be an object {ref, sha256}');
    const o = a as Record<string, unknown>;
    if ('data' in o || 'content' in o || 'base64' in o) return fault(`${p}.data`, '附件只收引用（地址或编号 + 哈希），不收文件内容 / attachments by reference only (URL or id + hash), never the bytes');
    const ref = o.ref;
    if (typeof ref !== 'string' || !ref) return fault(`${p}.ref`, '必填：附件地址或渠道的媒体编号 / is required: the URL or the channel’s media id');
    let isUrl = false;
    try {
      isUrl = ['http:', 'https:'].includes(new URL(ref).protocol);
    } catch {
      isUrl = false;
    }
    if (ref.length > 1000 || CONTROL.test(ref) || (!isUrl && !ID.test(ref))) return fault(`${p}.ref`, '须为 http(s) 地址或编号（字母、数字、_ . : -） / must be an http(s) URL or an id (letters, digits, _ . : -)');
    if (typeof o.sha256 !== 'string' || !SHA256.test(o.sha256)) return fault(`${p}.sha256`, '须为 64 位小写十六进制 SHA-256 / must be the SHA-256 of the bytes, 64 lower-case hex digits');
    const r: AttachmentRef = { ref, sha256: o.sha256 };
    if (o.name !== undefined) {
      if (typeof o.name !== 'string' || o.name.length > 200 || CONTROL.test(o.name)) return fault(`${p}.name`, '须为 200 字以内的文本 / must be a text of at most 200 characters');
      r.name = o.name;
    }
    if (o.mime !== undefined) {
      if (typeof o.mime !== 'string' || !/^[a-z]+\/[A-Za-z0-9.+-]{1,100}$/.test(o.mime)) return fault(`${p}.mime`, '须为媒体类型，如 image/jpeg / must be a media type like image/jpeg');
      r.mime = o.mime;
    }
    if (o.size !== undefined) {
      if (typeof o.size !== 'number' || !Number.isInteger(o.size) || o.size < 0) return fault(`${p}.size`, '须为非负整数（字节） / must be an integer ≥ 0 (bytes)');
      r.size = o.size;
    }
    out.push(r);
  }
  return { ok: true, value: out };
}

function requestOf(b: Record<string, unknown>): Parsed<Omit<IntakeMessage, 'messageId'>> {
  const category = enumOf(b, 'category', TICKET_CATEGORIES, 'consult');
  if (!category.ok) return category;
  const requesterKind = enumOf(b, 'requesterKind', REQUESTER_KINDS, 'citizen');
  if (!requesterKind.ok) return requesterKind;
  const urgency = enumOf(b, 'urgency', URGENCIES, 'normal');
  if (!urgency.ok) return urgency;
  const summary = text(b, 'summary', { required: true, max: SUMMARY_MAX });
  if (!summary.ok) return summary;
  const phoneRaw = text(b, 'phone', { required: true, max: 30 });
  if (!phoneRaw.ok) return phoneRaw;
  const phone = normalizePhone(phoneRaw.value!);
  if (!phone) return fault('phone', '须为手机号或带区号的固定电话（回访要用） / must be a mobile or a landline with its area code (needed for the callback)');
  const name = text(b, 'name', { max: 50 });
  if (!name.ok) return name;
  let topics: string[] = [];
  if (b.topics !== undefined && b.topics !== null) {
    if (!Array.isArray(b.topics) || b.topics.length > 10) return fault('topics', '须为至多 10 项的数组 / must be an array of at most 10');
    for (const [i, t] of b.topics.entries()) if (typeof t !== 'string' || !/^[a-z0-9-]{1,40}$/.test(t)) return fault(`topics[${i}]`, '须为主题编号（小写字母、数字、-） / must be a topic id (lower-case letters, digits, -)');
    topics = b.topics as string[];
  }
  const attachments = attachmentsOf(b.attachments);
  if (!attachments.ok) return attachments;
  return {
    ok: true,
    value: {
      category: category.value,
      requesterKind: requesterKind.value,
      urgency: urgency.value,
      summary: summary.value!,
      phone,
      ...(name.value ? { name: name.value } : {}),
      topics,
      attachments: attachments.value,
    },
  };
}

function objectBody(body: unknown): Parsed<Record<string, unknown>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fault('body', '必须是 JSON 对象 / must be a JSON object');
  return { ok: true, value: body as Record<string, unknown> };
}

/** A channel's message, checked field by field. */
export function parseIntakeMessage(body: unknown): Parsed<IntakeMessage> {
  const o = objectBody(body);
  if (!o.ok) return o;
  const b = o.value;
  if (typeof b.messageId !== 'string' || !b.messageId) return fault('messageId', '必填：渠道的消息编号（幂等键） / is required: the channel’s message id (the idempotency key)');
  if (!ID.test(b.messageId)) return fault('messageId', '须为 1–128 位字母、数字或 _ . : - / must be 1–128 letters, digits or _ . : -');
  const r = requestOf(b);
  if (!r.ok) return r;
  return { ok: true, value: { messageId: b.messageId, ...r.value } };
}

function instantOf(b: Record<string, unknown>, field: string, required: boolean): Parsed<number | undefined> {
  const v = b[field];
  if (v === undefined || v === null || v === '') return required ? fault(field, `必填 / is required (${ISO_DATETIME_HINT})`) : { ok: true, value: undefined };
  const at = parseIsoDateTime(v);
  return at === undefined ? fault(field, ISO_DATETIME_HINT) : { ok: true, value: at };
}

/** A higher platform's work order, checked field by field. */
export function parseWorkOrder(body: unknown): Parsed<WorkOrder> {
  const o = objectBody(body);
  if (!o.ok) return o;
  const b = o.value;
  if (typeof b.orderNo !== 'string' || !b.orderNo) return fault('orderNo', '必填：平台的工单编号 / is required: the platform’s work-order number');
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(b.orderNo)) return fault('orderNo', '须为 1–64 位字母、数字或 _ . : - / must be 1–64 letters, digits or _ . : -');
  const issuedAt = instantOf(b, 'issuedAt', true);
  if (!issuedAt.ok) return issuedAt;
  const finishBy = instantOf(b, 'finishBy', true);
  if (!finishBy.ok) return finishBy;
  const replyBy = instantOf(b, 'replyBy', false);
  if (!replyBy.ok) return replyBy;
  if (finishBy.value! <= issuedAt.value!) return fault('finishBy', '须晚于 issuedAt / must be after issuedAt');
  if (replyBy.value !== undefined && (replyBy.value <= issuedAt.value! || replyBy.value > finishBy.value!)) return fault('replyBy', '须在 issuedAt 与 finishBy 之间 / must lie between issuedAt and finishBy');
  const r = requestOf(b);
  if (!r.ok) return r;
  return { ok: true, value: { orderNo: b.orderNo, issuedAt: issuedAt.value!, finishBy: finishBy.value!, ...(replyBy.value !== undefined ? { replyBy: replyBy.value } : {}), ...r.value } };
}

/** JSON with sorted keys: the same message in any key order hashes alike. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The hash that tells "the same message again" from "another message under a used id". */
export function messageHash(parsed: IntakeMessage | WorkOrder): string {
  return createHash('sha256').update(canonicalJson(parsed)).digest('hex');
}

// ---------------------------------------------------------------- signatures

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signRequest(secret: string, timestamp: string | number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Why a signed request is refused (the header at fault), or undefined when it is good: the
 * timestamp must be Unix seconds within `windowSec` of `nowMs`, and the signature the HMAC of
 * timestamp and the exact body bytes under `secret` (compared in constant time).
 */
export function signatureFault(o: { secret: string; timestamp: unknown; signature: unknown; body: string; nowMs: number; windowSec: number }): FieldFault | undefined {
  if (typeof o.timestamp !== 'string' || !/^\d{9,11}$/.test(o.timestamp)) return { field: TIMESTAMP_HEADER, message: '必填：Unix 秒 / is required: Unix seconds' };
  if (Math.abs(o.nowMs / 1000 - Number(o.timestamp)) > o.windowSec) return { field: TIMESTAMP_HEADER, message: `不在 ${o.windowSec} 秒的有效窗口内（重放或时钟偏差） / outside the ${o.windowSec} s window (a replay, or a skewed clock)` };
  if (typeof o.signature !== 'string' || !/^sha256=[0-9a-f]{64}$/.test(o.signature)) return { field: SIGNATURE_HEADER, message: '必填：sha256=<十六进制 HMAC> / is required: sha256=<hex HMAC>' };
  const want = Buffer.from(signRequest(o.secret, o.timestamp, o.body));
  const got = Buffer.from(o.signature);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { field: SIGNATURE_HEADER, message: '签名不符（密钥或正文不对） / does not match (wrong secret or altered body)' };
  return undefined;
}
