/**
 * Part 5 — knowledge-base search at 10,000 articles: the articles written into a throwaway Redis
 * through the store (as publishing does), an instance's index rebuilt from Redis, then search
 * latency over typed Chinese queries (with the call's line/skill preference) and over call-pop
 * suggestions (line, skill and IVR path words, no query); and how long a publish on one instance
 * takes to show in another instance's search (the shared index). Figures only.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger } from '../src/log/logger.js';
import type { Article, LiveVersion } from '../src/knowledge/model.js';
import { KnowledgeBase, termsJson } from '../src/knowledge/service.js';
import { OwnRedis } from '../tests/support/redis-server.js';
import { nullLog, round, sleep, summarize, type LatencySummary } from './stats.js';

export interface KnowledgeResult {
  articles: number;
  /** Index terms (words + bigrams) after the rebuild. */
  terms: number;
  rebuildMs: number;
  heapMb: number;
  typed: LatencySummary;
  suggestions: LatencySummary;
  /** Publish on instance A → found by instance B's search. */
  propagationMs: LatencySummary;
  limitMs: number;
}

const N = 10_000;
const QUERIES = 1000;
const TOPICS = ['养老保险', '医疗保险', '失业保险', '工伤认定', '住房公积金', '社保卡', '居住证', '户口迁移', '不动产登记', '营业执照', '个体工商户', '出租车投诉', '公交线路', '供水停水', '供暖收费', '燃气维修', '噪音扰民', '占道经营', '垃圾清运', '物业纠纷', '子女入学', '学籍转学', '新生儿医保', '生育津贴', '退休审批', '最低生活保障', '残疾人补贴', '高龄津贴', '驾驶证换领', '车辆违章', '契税缴纳', '个人所得税', '发票开具', '食品安全', '药品投诉', '价格欺诈', '消费维权', '劳动合同', '拖欠工资', '职业培训'];
const ACTIONS = ['怎么办理', '需要什么材料', '办理流程', '办理时限', '收费标准', '在哪里办', '网上申请', '异地办理', '政策调整', '常见问题'];
const LINES: [string, string][] = [['12333', '12333'], ['12345', 'general'], ['12329', '12329'], ['12315', '12315'], ['12366', '12366'], ['12328', '12328']];

function article(i: number, now: number): Article {
  const topic = TOPICS[i % TOPICS.length]!;
  const action = ACTIONS[Math.floor(i / TOPICS.length) % ACTIONS.length]!;
  const [line, skill] = LINES[i % LINES.length]!;
  const title = `${topic}${action}（第${i}号）`;
  const body = `${title}。市民咨询${topic}${action}时，请告知：携带身份证原件，到政务服务中心${(i % 12) + 1}号窗口办理，或登录网上办事大厅在线申请；办理时限为${(i % 10) + 1}个工作日。${TOPICS[(i * 7) % TOPICS.length]}相关问题请另行咨询。`;
  const live: LiveVersion = {
    title, body, shortAnswer: body.slice(0, 60), shortAnswerEn: '', keywords: [topic, action], category: topic.slice(0, 2), lines: [line], skills: [skill], units: [], sourceDepartment: '市政务服务管理局', attachments: [],
    version: 2, publishedAt: now - (i % 365) * 86_400_000, publishedBy: 'bench',
    ...(i % 20 === 0 ? { validUntil: now - 86_400_000 } : {}),
  };
  const { version: _v, publishedAt: _p, publishedBy: _b, ...content } = live;
  return { ...content, id: `bench-${i}-${randomBytes(2).toString('hex')}`, ownerUnit: 'centre', status: 'published', version: 2, live, createdAt: now, createdBy: 'bench', updatedAt: now, updatedBy: 'bench' };
}

function instance(redis: Redis, prefix: string): KnowledgeBase {
  return new KnowledgeBase({
    redis, prefix, log: createLogger({ level: "warn", destination: nullLog }), audit: { record: async () => undefined }, now: Date.now, promptsDir: '/nonexistent', remindDays: 14, pollMs: 60_000,
  });
}

export async function runKnowledge(log: (s: string) => void): Promise<KnowledgeResult> {
  const server = await OwnRedis.create();
  const redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
  try {
    const prefix = 'bench:kb';
    const now = Date.now();
    const writer = instance(redis, prefix);
    for (let i = 0; i < N; i += 200) {
      await Promise.all(Array.from({ length: Math.min(200, N - i) }, (_, j) => {
        const a = article(i + j, now);
        return writer.store.write(a, 'new', { version: 2, at: now, actor: 'bench', action: 'publish' }, termsJson(a));
      }));
    }
    log(`   ${N} articles written`);
    const a = instance(redis, prefix);
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    await a.rebuild();
    const rebuildMs = round(performance.now() - t0, 1);
    const heapMb = round((process.memoryUsage().heapUsed - heap0) / 2 ** 20, 1);
    const terms = (a.index as unknown as { postings: Map<string, unknown> }).postings.size;
    log(`   rebuild ${rebuildMs} ms, ${a.index.size} published, ${terms} terms`);

    const typed: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const [line, skill] = LINES[i % LINES.length]!;
      const q = `${TOPICS[(i * 13) % TOPICS.length]}${ACTIONS[i % ACTIONS.length]}`;
      const s = performance.now();
      const hits = a.search({ q, line, skill, limit: 10 });
      typed.push(performance.now() - s);
      if (i === 0 && hits.length === 0) throw new Error(`no hit for ${q}`);
    }
    log(`   typed queries done`);
    const sugg: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const [line, skill] = LINES[i % LINES.length]!;
      const s = performance.now();
      a.search({ line, skill, context: `hotline-zh main menu dtmf 1 ${skill} queue`, limit: 5 });
      sugg.push(performance.now() - s);
    }

    log(`   suggestions done`);
    // Two instances following the same Redis: publish on one, time until the other's search finds it.
    const subA = redis.duplicate();
    const subB = redis.duplicate();
    const b = instance(redis, prefix);
    await a.start(subA);
    await b.start(subB);
    const prop: number[] = [];
    log('   two instances started');
    for (let i = 0; i < 20; i++) {
      const art = article(N + i, Date.now());
      art.live!.title = art.title = `新政策传播测试${i}号`;
      const s = performance.now();
      await writer.store.write(art, 'new', { version: 2, at: Date.now(), actor: 'bench', action: 'publish' }, termsJson(art));
      while (!b.index.has(art.id)) {
        if (performance.now() - s > 30_000) throw new Error(`article ${art.id} not on instance B after 30 s`);
        await sleep(1);
      }
      prop.push(performance.now() - s);
    }
    a.close();
    b.close();
    return { articles: N, terms, rebuildMs, heapMb, typed: summarize(typed), suggestions: summarize(sugg), propagationMs: summarize(prop), limitMs: 50 };
  } finally {
    redis.disconnect();
    await server.stop();
  }
}
