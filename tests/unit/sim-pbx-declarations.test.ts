/**
 * Conformance of the simulated PBX's ARI declarations with the real Asterisk 22 ones in
 * ../shared/asterisk-ari/api-docs (read at test time, never copied): every operation, parameter,
 * model property and event the sim declares must exist there with the same name, HTTP method,
 * path and type — so code written against the sim is written against real ARI.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_MODELS, RESOURCE_NAMES, resourceDeclaration, resourceListing, type ResourceDecl } from '../../sim-pbx/declarations.js';
import { REPO_ROOT } from '../../sim-pbx/index.js';

const API_DOCS = path.join(path.resolve(REPO_ROOT, '../shared/asterisk-ari'), 'api-docs');
const haveDocs = existsSync(API_DOCS);

interface AsteriskParam { name: string; paramType: string; dataType: string; required?: boolean }
interface AsteriskOp { httpMethod: string; nickname: string; responseClass: string; parameters?: AsteriskParam[] }
interface AsteriskDecl {
  apis: Array<{ path: string; operations: AsteriskOp[] }>;
  models: Record<string, { extends?: string; subTypes?: string[]; properties: Record<string, { type: string; required?: boolean }> }>;
}

const real = (name: string): AsteriskDecl => JSON.parse(readFileSync(path.join(API_DOCS, `${name}.json`), 'utf8')) as AsteriskDecl;
const sim = (name: string): ResourceDecl => resourceDeclaration(name, 'http://127.0.0.1:1/ari')!;

/** Lists every mismatch instead of stopping at the first, so one run shows all of them. */
function conformance(name: string, ours: ResourceDecl = sim(name)): string[] {
  const problems: string[] = [];
  const theirs = real(name);
  for (const api of ours.apis) {
    const tApi = theirs.apis.find((a) => a.path === api.path);
    if (!tApi) {
      problems.push(`${name}: path ${api.path} does not exist in Asterisk`);
      continue;
    }
    for (const op of api.operations) {
      const tOp = tApi.operations.find((o) => o.httpMethod === op.httpMethod && o.nickname === op.nickname);
      if (!tOp) {
        problems.push(`${name}: ${op.httpMethod} ${api.path} (${op.nickname}) does not exist in Asterisk`);
        continue;
      }
      if (tOp.responseClass !== op.responseClass) problems.push(`${name}: ${op.nickname} returns ${op.responseClass}, Asterisk ${tOp.responseClass}`);
      for (const p of op.parameters) {
        const tp = (tOp.parameters ?? []).find((x) => x.name === p.name);
        if (!tp) problems.push(`${name}: ${op.nickname} parameter ${p.name} does not exist in Asterisk`);
        else {
          if (tp.paramType !== p.paramType) problems.push(`${name}: ${op.nickname}.${p.name} is ${p.paramType}, Asterisk ${tp.paramType}`);
          if (tp.dataType !== p.dataType) problems.push(`${name}: ${op.nickname}.${p.name} is ${p.dataType}, Asterisk ${tp.dataType}`);
          if (Boolean(tp.required) !== p.required) problems.push(`${name}: ${op.nickname}.${p.name} required=${p.required}, Asterisk ${Boolean(tp.required)}`);
        }
      }
      // Required parameters we left out would make the sim accept calls Asterisk rejects.
      for (const tp of tOp.parameters ?? []) {
        if (tp.required && !op.parameters.some((p) => p.name === tp.name)) problems.push(`${name}: ${op.nickname} lacks required parameter ${tp.name}`);
      }
    }
  }
  for (const [id, model] of Object.entries(ours.models)) {
    const tModel = theirs.models[id];
    if (!tModel) {
      problems.push(`${name}: model ${id} does not exist in Asterisk`);
      continue;
    }
    if (model.extends !== tModel.extends) problems.push(`${name}: model ${id} extends ${model.extends}, Asterisk ${tModel.extends}`);
    for (const st of model.subTypes ?? []) if (!tModel.subTypes?.includes(st)) problems.push(`${name}: ${id} subtype ${st} unknown to Asterisk`);
    for (const [prop, decl] of Object.entries(model.properties)) {
      const tp = tModel.properties[prop];
      if (!tp) problems.push(`${name}: ${id}.${prop} does not exist in Asterisk`);
      else {
        if (tp.type !== decl.type) problems.push(`${name}: ${id}.${prop} is ${decl.type}, Asterisk ${tp.type}`);
        if (Boolean(tp.required) !== Boolean(decl.required)) problems.push(`${name}: ${id}.${prop} required=${Boolean(decl.required)}, Asterisk ${Boolean(tp.required)}`);
      }
    }
    for (const [prop, tp] of Object.entries(tModel.properties)) {
      if (tp.required && !(prop in model.properties)) problems.push(`${name}: ${id} lacks required property ${prop}`);
    }
  }
  return problems;
}

describe.skipIf(!haveDocs)(`sim PBX declarations match Asterisk's${haveDocs ? '' : ' — SKIPPED: ../shared/asterisk-ari/api-docs is absent'}`, () => {
  it('lists only resources Asterisk has, with the same declaration paths', () => {
    const theirs = JSON.parse(readFileSync(path.join(API_DOCS, 'resources.json'), 'utf8')) as { apis: Array<{ path: string }> };
    const ours = resourceListing('http://h/ari') as { apis: Array<{ path: string }> };
    for (const a of ours.apis) expect(theirs.apis.map((x) => x.path)).toContain(a.path);
  });

  it.each(RESOURCE_NAMES.map((n) => [n]))('%s: operations, parameters and models exist in Asterisk with the same names and types', (name) => {
    expect(conformance(name)).toEqual([]);
  });

  it('declares every event the sim emits as an Asterisk event model', () => {
    const theirs = real('events').models;
    for (const id of Object.keys(EVENT_MODELS)) expect(Object.keys(theirs)).toContain(id);
    // The types the channel model raises (kept in sync by hand; ari-client throws on undeclared ones).
    const emitted = [
      'StasisStart', 'StasisEnd', 'ChannelStateChange', 'ChannelDialplan', 'ChannelVarset', 'ChannelCallerId',
      'ChannelConnectedLine', 'ChannelHangupRequest', 'ChannelDestroyed', 'ChannelDtmfReceived', 'ChannelEnteredBridge',
      'ChannelLeftBridge', 'BridgeDestroyed', 'Dial', 'PlaybackStarted', 'PlaybackContinuing', 'PlaybackFinished',
      'RecordingStarted', 'RecordingFinished', 'ApplicationReplaced', 'EndpointStateChange',
    ];
    for (const t of emitted) expect(Object.keys(EVENT_MODELS)).toContain(t);
  });

  it('the conformance check catches a wrong type, an invented operation and a missing required parameter', () => {
    // GIVEN a declaration with deliberate mistakes
    const decl = sim('channels');
    decl.apis[0]!.operations[1]!.parameters.find((p) => p.name === 'endpoint')!.dataType = 'int';
    decl.apis.push({ path: '/channels/{channelId}/teleport', description: '', operations: [] });
    decl.models.Channel!.properties.id!.type = 'long';
    decl.apis.find((a) => a.path === '/channels/{channelId}/dtmf')!.operations[0]!.parameters.shift();
    // THEN conformance() reports each of them
    // (originate and originateWithId share their parameter objects, so both report the type.)
    expect(conformance('channels', decl).sort()).toEqual([
      'channels: originate.endpoint is int, Asterisk string',
      'channels: originateWithId.endpoint is int, Asterisk string',
      'channels: path /channels/{channelId}/teleport does not exist in Asterisk',
      'channels: sendDTMF lacks required parameter channelId',
      'channels: Channel.id is long, Asterisk string',
    ].sort());
  });
});
