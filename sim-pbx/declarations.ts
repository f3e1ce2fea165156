/**
 * ARI API declarations (Swagger 1.1 resource listings) for the subset of ARI the simulated PBX
 * implements. They are *generated objects*, written here from scratch, not copies of Asterisk's
 * files: ari-client downloads them on connect to build its resource methods and, crucially, to
 * decode events — its processMessage throws on an event type that is not a declared model, so
 * every event the sim emits must appear in {@link EVENT_MODELS}.
 *
 * The conformance test (tests/unit/sim-pbx-declarations.test.ts) checks every name, method,
 * path and type below against the real Asterisk declarations.
 */

export type ParamType = 'path' | 'query' | 'body';

export interface ParamDecl {
  name: string;
  description: string;
  paramType: ParamType;
  required: boolean;
  allowMultiple: boolean;
  dataType: string;
}

export interface OperationDecl {
  httpMethod: 'GET' | 'POST' | 'PUT' | 'DELETE';
  summary: string;
  nickname: string;
  responseClass: string;
  parameters: ParamDecl[];
  /** Not part of Swagger: set on the websocket operation only (Asterisk uses `upgrade`). */
  upgrade?: string;
  websocketProtocol?: string;
}

export interface ApiDecl {
  path: string;
  description: string;
  operations: OperationDecl[];
}

export interface PropertyDecl {
  type: string;
  required?: boolean;
  description?: string;
}

export interface ModelDecl {
  id: string;
  description: string;
  properties: Record<string, PropertyDecl>;
  discriminator?: string;
  subTypes?: string[];
  extends?: string;
}

export interface ResourceDecl {
  apiVersion: string;
  swaggerVersion: string;
  basePath: string;
  resourcePath: string;
  apis: ApiDecl[];
  models: Record<string, ModelDecl>;
}

// ---- small builders: keep each declaration on one line so the tables below stay readable ----

/** `name:type` with a trailing `!` for required, e.g. `channelId:string!`. */
function param(paramType: ParamType, spec: string): ParamDecl {
  const required = spec.endsWith('!');
  const [name, dataType = 'string'] = (required ? spec.slice(0, -1) : spec).split(':') as [string, string?];
  return { name, description: name, paramType, required, allowMultiple: false, dataType };
}
const q = (spec: string) => param('query', spec);
const p = (name: string) => param('path', `${name}:string!`);
const b = (spec: string) => param('body', spec);

function op(
  httpMethod: OperationDecl['httpMethod'],
  nickname: string,
  responseClass: string,
  parameters: ParamDecl[] = [],
): OperationDecl {
  return { httpMethod, summary: nickname, nickname, responseClass, parameters };
}

function api(path: string, ...operations: OperationDecl[]): ApiDecl {
  return { path, description: path, operations };
}

/** Properties as `name:type` (`!` = required). */
function model(id: string, props: string[], extra: Partial<ModelDecl> = {}): ModelDecl {
  const properties: Record<string, PropertyDecl> = {};
  for (const spec of props) {
    const required = spec.endsWith('!');
    const [name, type] = (required ? spec.slice(0, -1) : spec).split(':') as [string, string];
    properties[name] = required ? { type, required: true } : { type };
  }
  return { id, description: id, properties, ...extra };
}

function models(...list: ModelDecl[]): Record<string, ModelDecl> {
  return Object.fromEntries(list.map((m) => [m.id, m]));
}

// ---- resources -------------------------------------------------------------------------------

const ASTERISK_APIS: ApiDecl[] = [
  api('/asterisk/info', op('GET', 'getInfo', 'AsteriskInfo', [q('only')])),
  api('/asterisk/ping', op('GET', 'ping', 'AsteriskPing')),
  api(
    '/asterisk/variable',
    op('GET', 'getGlobalVar', 'Variable', [q('variable!')]),
    op('POST', 'setGlobalVar', 'void', [q('variable!'), q('value')]),
  ),
];
const ASTERISK_MODELS = models(
  model('BuildInfo', ['os:string!', 'kernel:string!', 'options:string!', 'machine:string!', 'date:string!', 'user:string!']),
  model('SystemInfo', ['version:string!', 'entity_id:string!']),
  model('SetId', ['user:string!', 'group:string!']),
  model('ConfigInfo', ['name:string!', 'default_language:string!', 'max_channels:int', 'max_open_files:int', 'max_load:double', 'setid:SetId!']),
  model('StatusInfo', ['startup_time:Date!', 'last_reload_time:Date!']),
  model('AsteriskInfo', ['build:BuildInfo', 'system:SystemInfo', 'config:ConfigInfo', 'status:StatusInfo']),
  model('AsteriskPing', ['asterisk_id:string!', 'ping:string!', 'timestamp:string!']),
  model('Variable', ['value:string!']),
);

const APPLICATIONS_APIS: ApiDecl[] = [
  api('/applications', op('GET', 'list', 'List[Application]')),
  api('/applications/{applicationName}', op('GET', 'get', 'Application', [p('applicationName')])),
  api(
    '/applications/{applicationName}/subscription',
    op('POST', 'subscribe', 'Application', [p('applicationName'), q('eventSource!')]),
    op('DELETE', 'unsubscribe', 'Application', [p('applicationName'), q('eventSource!')]),
  ),
  api('/applications/{applicationName}/eventFilter', op('PUT', 'filter', 'Application', [p('applicationName'), b('filter:object')])),
];
const APPLICATIONS_MODELS = models(
  model('Application', [
    'name:string!', 'channel_ids:List[string]!', 'bridge_ids:List[string]!', 'endpoint_ids:List[string]!',
    'device_names:List[string]!', 'events_allowed:List[object]!', 'events_disallowed:List[object]!',
  ]),
);

const ORIGINATE_PARAMS = [
  q('endpoint!'), q('extension'), q('context'), q('priority:long'), q('label'), q('app'), q('appArgs'),
  q('callerId'), q('timeout:int'), b('variables:containers'),
];
const CHANNEL_ID = p('channelId');
const PLAY_PARAMS = [q('media!'), q('lang'), q('offsetms:int'), q('skipms:int')];
const CHANNEL_RECORD_PARAMS = [
  q('name!'), q('format!'), q('maxDurationSeconds:int'), q('maxSilenceSeconds:int'), q('ifExists'),
  q('beep:boolean'), q('terminateOn'),
];
const SNOOP_PARAMS = [q('spy'), q('whisper'), q('app!'), q('appArgs')];

const CHANNELS_APIS: ApiDecl[] = [
  api(
    '/channels',
    op('GET', 'list', 'List[Channel]'),
    op('POST', 'originate', 'Channel', [...ORIGINATE_PARAMS, q('channelId'), q('otherChannelId'), q('originator'), q('formats')]),
  ),
  api(
    '/channels/{channelId}',
    op('GET', 'get', 'Channel', [CHANNEL_ID]),
    op('POST', 'originateWithId', 'Channel', [CHANNEL_ID, ...ORIGINATE_PARAMS, q('otherChannelId'), q('originator'), q('formats')]),
    op('DELETE', 'hangup', 'void', [CHANNEL_ID, q('reason_code'), q('reason')]),
  ),
  api(
    '/channels/{channelId}/continue',
    op('POST', 'continueInDialplan', 'void', [CHANNEL_ID, q('context'), q('extension'), q('priority:int'), q('label')]),
  ),
  api('/channels/{channelId}/answer', op('POST', 'answer', 'void', [CHANNEL_ID])),
  api('/channels/{channelId}/ring', op('POST', 'ring', 'void', [CHANNEL_ID]), op('DELETE', 'ringStop', 'void', [CHANNEL_ID])),
  api('/channels/{channelId}/progress', op('POST', 'progress', 'void', [CHANNEL_ID])),
  api(
    '/channels/{channelId}/dtmf',
    op('POST', 'sendDTMF', 'void', [CHANNEL_ID, q('dtmf'), q('before:int'), q('between:int'), q('duration:int'), q('after:int')]),
  ),
  api(
    '/channels/{channelId}/mute',
    op('POST', 'mute', 'void', [CHANNEL_ID, q('direction')]),
    op('DELETE', 'unmute', 'void', [CHANNEL_ID, q('direction')]),
  ),
  api('/channels/{channelId}/hold', op('POST', 'hold', 'void', [CHANNEL_ID]), op('DELETE', 'unhold', 'void', [CHANNEL_ID])),
  api(
    '/channels/{channelId}/moh',
    op('POST', 'startMoh', 'void', [CHANNEL_ID, q('mohClass')]),
    op('DELETE', 'stopMoh', 'void', [CHANNEL_ID]),
  ),
  api(
    '/channels/{channelId}/silence',
    op('POST', 'startSilence', 'void', [CHANNEL_ID]),
    op('DELETE', 'stopSilence', 'void', [CHANNEL_ID]),
  ),
  api('/channels/{channelId}/play', op('POST', 'play', 'Playback', [CHANNEL_ID, ...PLAY_PARAMS, q('playbackId')])),
  api('/channels/{channelId}/play/{playbackId}', op('POST', 'playWithId', 'Playback', [CHANNEL_ID, p('playbackId'), ...PLAY_PARAMS])),
  api('/channels/{channelId}/record', op('POST', 'record', 'LiveRecording', [CHANNEL_ID, ...CHANNEL_RECORD_PARAMS])),
  api(
    '/channels/{channelId}/variable',
    op('GET', 'getChannelVar', 'Variable', [CHANNEL_ID, q('variable!')]),
    op('POST', 'setChannelVar', 'void', [CHANNEL_ID, q('variable!'), q('value')]),
  ),
  api('/channels/{channelId}/snoop', op('POST', 'snoopChannel', 'Channel', [CHANNEL_ID, ...SNOOP_PARAMS, q('snoopId')])),
  api('/channels/{channelId}/snoop/{snoopId}', op('POST', 'snoopChannelWithId', 'Channel', [CHANNEL_ID, p('snoopId'), ...SNOOP_PARAMS])),
];
const CHANNELS_MODELS = models(
  model('DialplanCEP', ['context:string!', 'exten:string!', 'priority:long!', 'app_name:string!', 'app_data:string!']),
  model('CallerID', ['name:string!', 'number:string!']),
  model('Channel', [
    'id:string!', 'protocol_id:string!', 'name:string!', 'state:string!', 'caller:CallerID!', 'connected:CallerID!',
    'accountcode:string!', 'dialplan:DialplanCEP!', 'creationtime:Date!', 'language:string!', 'channelvars:object',
  ]),
);

const BRIDGE_ID = p('bridgeId');
const BRIDGES_APIS: ApiDecl[] = [
  api(
    '/bridges',
    op('GET', 'list', 'List[Bridge]'),
    op('POST', 'create', 'Bridge', [q('type'), q('bridgeId'), q('name')]),
  ),
  api(
    '/bridges/{bridgeId}',
    op('POST', 'createWithId', 'Bridge', [q('type'), BRIDGE_ID, q('name')]),
    op('GET', 'get', 'Bridge', [BRIDGE_ID]),
    op('DELETE', 'destroy', 'void', [BRIDGE_ID]),
  ),
  api(
    '/bridges/{bridgeId}/addChannel',
    op('POST', 'addChannel', 'void', [BRIDGE_ID, q('channel!'), q('role'), q('absorbDTMF:boolean'), q('mute:boolean'), q('inhibitConnectedLineUpdates:boolean')]),
  ),
  api('/bridges/{bridgeId}/removeChannel', op('POST', 'removeChannel', 'void', [BRIDGE_ID, q('channel!')])),
  api(
    '/bridges/{bridgeId}/moh',
    op('POST', 'startMoh', 'void', [BRIDGE_ID, q('mohClass')]),
    op('DELETE', 'stopMoh', 'void', [BRIDGE_ID]),
  ),
  api('/bridges/{bridgeId}/play', op('POST', 'play', 'Playback', [BRIDGE_ID, ...PLAY_PARAMS, q('playbackId')])),
  api('/bridges/{bridgeId}/play/{playbackId}', op('POST', 'playWithId', 'Playback', [BRIDGE_ID, p('playbackId'), ...PLAY_PARAMS])),
  api('/bridges/{bridgeId}/record', op('POST', 'record', 'LiveRecording', [BRIDGE_ID, ...CHANNEL_RECORD_PARAMS])),
];
const BRIDGES_MODELS = models(
  model('Bridge', [
    'id:string!', 'technology:string!', 'bridge_type:string!', 'bridge_class:string!', 'creator:string!', 'name:string!',
    'channels:List[string]!', 'video_mode:string', 'video_source_id:string', 'creationtime:Date!',
  ]),
);

const PLAYBACKS_APIS: ApiDecl[] = [
  api('/playbacks/{playbackId}', op('GET', 'get', 'Playback', [p('playbackId')]), op('DELETE', 'stop', 'void', [p('playbackId')])),
];
const PLAYBACKS_MODELS = models(
  model('Playback', ['id:string!', 'media_uri:string!', 'next_media_uri:string', 'target_uri:string!', 'language:string', 'state:string!']),
);

const REC = p('recordingName');
const RECORDINGS_APIS: ApiDecl[] = [
  api('/recordings/stored', op('GET', 'listStored', 'List[StoredRecording]')),
  api('/recordings/stored/{recordingName}', op('GET', 'getStored', 'StoredRecording', [REC]), op('DELETE', 'deleteStored', 'void', [REC])),
  api('/recordings/stored/{recordingName}/copy', op('POST', 'copyStored', 'StoredRecording', [REC, q('destinationRecordingName!')])),
  api('/recordings/live/{recordingName}', op('GET', 'getLive', 'LiveRecording', [REC]), op('DELETE', 'cancel', 'void', [REC])),
  api('/recordings/live/{recordingName}/stop', op('POST', 'stop', 'void', [REC])),
];
const RECORDINGS_MODELS = models(
  model('StoredRecording', ['name:string!', 'format:string!']),
  model('LiveRecording', [
    'name:string!', 'format:string!', 'target_uri:string!', 'state:string!', 'duration:int', 'talking_duration:int',
    'silence_duration:int', 'cause:string',
  ]),
);

const ENDPOINTS_APIS: ApiDecl[] = [
  api('/endpoints', op('GET', 'list', 'List[Endpoint]')),
  api('/endpoints/{tech}', op('GET', 'listByTech', 'List[Endpoint]', [param('path', 'tech:string')])),
  api('/endpoints/{tech}/{resource}', op('GET', 'get', 'Endpoint', [param('path', 'tech:string'), param('path', 'resource:string')])),
];
const ENDPOINTS_MODELS = models(
  model('Endpoint', ['technology:string!', 'resource:string!', 'state:string', 'channel_ids:List[string]!']),
);

/** Every event type the sim can emit, with the properties it fills in. */
export const EVENT_MODELS: Record<string, ModelDecl> = models(
  model('Message', ['type:string!', 'asterisk_id:string'], { discriminator: 'type', subTypes: ['Event'] }),
  // Asterisk links the hierarchy with subTypes only (no `extends`).
  model('Event', ['application:string!', 'timestamp:Date!'], {
    subTypes: [
      'PlaybackStarted', 'PlaybackContinuing', 'PlaybackFinished', 'RecordingStarted', 'RecordingFinished', 'RecordingFailed',
      'BridgeCreated', 'BridgeDestroyed', 'ChannelCreated', 'ChannelDestroyed', 'ChannelEnteredBridge', 'ChannelLeftBridge',
      'ChannelStateChange', 'ChannelDtmfReceived', 'ChannelDialplan', 'ChannelCallerId', 'ChannelHangupRequest',
      'ChannelVarset', 'ChannelHold', 'ChannelUnhold', 'ChannelConnectedLine', 'Dial', 'StasisEnd', 'StasisStart',
      'ApplicationReplaced', 'EndpointStateChange',
    ],
  }),
  ...[
    model('PlaybackStarted', ['playback:Playback!']),
    model('PlaybackContinuing', ['playback:Playback!']),
    model('PlaybackFinished', ['playback:Playback!']),
    model('RecordingStarted', ['recording:LiveRecording!']),
    model('RecordingFinished', ['recording:LiveRecording!']),
    model('RecordingFailed', ['recording:LiveRecording!']),
    model('ApplicationReplaced', []),
    model('BridgeCreated', ['bridge:Bridge!']),
    model('BridgeDestroyed', ['bridge:Bridge!']),
    model('ChannelCreated', ['channel:Channel!']),
    model('ChannelDestroyed', ['cause:int!', 'cause_txt:string!', 'channel:Channel!']),
    model('ChannelEnteredBridge', ['bridge:Bridge!', 'channel:Channel']),
    model('ChannelLeftBridge', ['bridge:Bridge!', 'channel:Channel!']),
    model('ChannelStateChange', ['channel:Channel!']),
    model('ChannelDtmfReceived', ['digit:string!', 'duration_ms:int!', 'channel:Channel!']),
    model('ChannelDialplan', ['channel:Channel!', 'dialplan_app:string!', 'dialplan_app_data:string!']),
    model('ChannelCallerId', ['caller_presentation:int!', 'caller_presentation_txt:string!', 'channel:Channel!']),
    model('ChannelHangupRequest', ['cause:int', 'soft:boolean', 'channel:Channel!']),
    model('ChannelVarset', ['variable:string!', 'value:string!', 'channel:Channel']),
    model('ChannelHold', ['channel:Channel!', 'musicclass:string']),
    model('ChannelUnhold', ['channel:Channel!']),
    model('ChannelConnectedLine', ['channel:Channel!']),
    model('EndpointStateChange', ['endpoint:Endpoint!']),
    model('Dial', ['caller:Channel', 'peer:Channel!', 'forward:string', 'forwarded:Channel', 'dialstring:string', 'dialstatus:string!']),
    model('StasisEnd', ['channel:Channel!']),
    model('StasisStart', ['args:List[string]!', 'channel:Channel!', 'replace_channel:Channel']),
  ],
);

const EVENTS_APIS: ApiDecl[] = [
  api('/events', {
    ...op('GET', 'eventWebsocket', 'Message', [q('app!'), q('subscribeAll:boolean')]),
    upgrade: 'websocket',
    websocketProtocol: 'ari',
  }),
];

interface ResourceSpec {
  name: string;
  description: string;
  apis: ApiDecl[];
  models: Record<string, ModelDecl>;
}

const RESOURCES: ResourceSpec[] = [
  { name: 'asterisk', description: 'Asterisk resources', apis: ASTERISK_APIS, models: ASTERISK_MODELS },
  { name: 'endpoints', description: 'Endpoint resources', apis: ENDPOINTS_APIS, models: ENDPOINTS_MODELS },
  { name: 'channels', description: 'Channel resources', apis: CHANNELS_APIS, models: CHANNELS_MODELS },
  { name: 'bridges', description: 'Bridge resources', apis: BRIDGES_APIS, models: BRIDGES_MODELS },
  { name: 'recordings', description: 'Recording resources', apis: RECORDINGS_APIS, models: RECORDINGS_MODELS },
  { name: 'playbacks', description: 'Playback control resources', apis: PLAYBACKS_APIS, models: PLAYBACKS_MODELS },
  { name: 'events', description: 'WebSocket resource', apis: EVENTS_APIS, models: EVENT_MODELS },
  { name: 'applications', description: 'Stasis application resources', apis: APPLICATIONS_APIS, models: APPLICATIONS_MODELS },
];

/** The Swagger version Asterisk declares; ari-client's swagger-client 2.0 expects this dialect. */
const SWAGGER_VERSION = ['1', '1'].join('.');

export const RESOURCE_NAMES: readonly string[] = RESOURCES.map((r) => r.name);

/** `GET /ari/api-docs/resources.json`, with basePath pointing at the host the client used. */
export function resourceListing(basePath: string): object {
  return {
    apiVersion: '10.0.0',
    swaggerVersion: SWAGGER_VERSION,
    basePath,
    apis: RESOURCES.map((r) => ({ path: `/api-docs/${r.name}.{format}`, description: r.description })),
  };
}

/** `GET /ari/api-docs/<name>.json`, or undefined for a resource the sim does not implement. */
export function resourceDeclaration(name: string, basePath: string): ResourceDecl | undefined {
  const r = RESOURCES.find((x) => x.name === name);
  if (!r) return undefined;
  // A fresh copy per request, so nobody can mutate the shared tables.
  return structuredClone({
    apiVersion: '2.0.0',
    swaggerVersion: SWAGGER_VERSION,
    basePath,
    resourcePath: `/api-docs/${r.name}.{format}`,
    apis: r.apis,
    models: r.models,
  });
}
