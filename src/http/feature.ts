/**
 * The HTTP server (Fastify) every feature registers its routes on, and the pages and API docs,
 * which come last. Routes themselves belong to their features.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { errorHandler } from './errors.js';
import { freeTextHook } from './free-text.js';
import { docsRoutes, openapiOptions } from './openapi.js';
import { sessionCookieName } from './plugins/access.js';
import { pageRoutes } from './routes/pages.js';
import { AJV_OPTIONS } from './schemas.js';

export interface HttpServices {
  readonly http: FastifyInstance;
}

export function httpFeature(core: Core): HttpServices & Feature {
  const { config, log, metrics } = core;
  // Fastify's instance type is generic over the logger; the app exposes the default shape.
  const http = Fastify({
    loggerInstance: log.child({ component: 'http' }),
    genReqId: () => randomUUID(),
    // Request schemas check shapes, never rewrite: no type coercion, no silently dropped properties.
    ajv: { customOptions: AJV_OPTIONS },
    // HTTPS when configured (HTTP_TLS_CERT/KEY): agents' browsers outside localhost need a secure
    // context for the microphone. Plain HTTP otherwise (tests, a proxy terminating TLS in front).
    ...(config.http.tls ? { https: { cert: config.http.tls.cert, key: config.http.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  http.setErrorHandler(errorHandler);
  // One rule for text on every route: no control characters, no whitespace-only required fields (http/free-text.ts).
  http.addHook('preValidation', freeTextHook);
  http.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL: ids in paths would explode the label set.
    metrics.httpRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  return {
    name: 'http',
    http,
    async routes(app) {
      // Before every route (the access plugin's own included): it collects each route registered after it
      // into the OpenAPI document served at /docs/openapi.json. It registers no route itself.
      await app.register(swagger, openapiOptions({ sessionCookie: sessionCookieName(config.access.cookieSecure) }));
    },
    async stop(step) {
      await step('http', http.close());
    },
  };
}

/** The pages (src/web) and the API docs page: last, after every API route. */
export function pagesFeature(core: Core): Feature {
  const { softphone } = core.config;
  return {
    name: 'pages',
    async routes(http) {
      await http.register(docsRoutes);
      await http.register(pageRoutes, {
        softphone: { wsUrl: softphone.wsUrl, sipDomain: softphone.sipDomain, iceServers: softphone.iceServers },
      });
    },
  };
}
