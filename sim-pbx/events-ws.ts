/**
 * The ARI events websocket (`/ari/events?app=a,b&subscribeAll=true`): authenticates like the
 * REST side, registers the apps, and lets tests drop sockets server-side to simulate Asterisk
 * going away.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AriRoutes } from './http-routes.js';
import { asteriskTime, type PbxModel } from './model.js';

interface Sender { send(data: string): void }

export class EventSockets {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Map<WebSocket, string[]>();
  private readonly owners = new Map<Sender, WebSocket>();

  constructor(private readonly model: PbxModel, private readonly routes: AriRoutes) {}

  /** Handles an HTTP upgrade; answers anything that is not a valid events request with an HTTP error. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const reject = (status: number, text: string, message: string) => {
      const body = JSON.stringify({ message });
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (url.pathname !== '/ari/events') return reject(404, 'Not Found', 'Resource not found');
    if (!this.routes.authorized(req, url.searchParams)) return reject(401, 'Unauthorized', 'Authentication required');
    const apps = (url.searchParams.get('app') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (!apps.length) return reject(400, 'Bad Request', "Missing param 'app'");
    const subscribeAll = url.searchParams.get('subscribeAll') === 'true';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.register(ws, apps, subscribeAll));
  }

  private register(ws: WebSocket, apps: string[], subscribeAll: boolean): void {
    this.sockets.set(ws, apps);
    const sender: Sender = { send: (data: string) => void (ws.readyState === ws.OPEN && ws.send(data)) };
    this.owners.set(sender, ws);
    for (const name of apps) {
      const app = this.model.app(name);
      // A second connection for the same app replaces the first, as Asterisk does.
      for (const old of [...app.sockets]) {
        old.send(JSON.stringify({ type: 'ApplicationReplaced', timestamp: asteriskTime(), asterisk_id: this.model.asteriskId, application: name }));
        app.sockets.delete(old);
        this.owners.get(old)?.close();
      }
      app.subscribeAll = subscribeAll;
      app.sockets.add(sender);
    }
    ws.on('close', () => this.unregister(ws, sender));
    ws.on('error', () => undefined);
  }

  private unregister(ws: WebSocket, sender: Sender): void {
    for (const name of this.sockets.get(ws) ?? []) this.model.apps.get(name)?.sockets.delete(sender);
    this.sockets.delete(ws);
    this.owners.delete(sender);
  }

  /** Server-side close of the event sockets (all, or those of one app). */
  drop(app?: string): void {
    for (const [sender, ws] of [...this.owners]) {
      const apps = this.sockets.get(ws) ?? [];
      if (app && !apps.includes(app)) continue;
      // Unregister synchronously so events raised right after the drop are not delivered.
      this.unregister(ws, sender);
      ws.terminate();
    }
  }

  close(): void {
    this.drop();
    this.wss.close();
  }
}
