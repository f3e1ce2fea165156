// Minimal declarations for untyped dependencies; only telephony/ imports them.
declare module 'ari-client' {
  const ari: { connect(url: string, user: string, password: string): Promise<unknown> };
  export default ari;
}

declare module 'asterisk-manager' {
  interface AmiManager {
    on(event: string, listener: (...args: any[]) => void): void;
    removeAllListeners(event?: string): void;
    removeListener(event: string, listener: (...args: any[]) => void): void;
    connect(port: number, host: string, callback?: (err?: unknown) => void): void;
    login(callback?: (err?: unknown) => void): void;
    action(action: Record<string, unknown>, callback?: (err: any, res: any) => void): string;
    disconnect(callback?: () => void): void;
    isConnected(): boolean;
  }
  const Manager: new (
    port?: number,
    host?: string,
    username?: string,
    password?: string,
    events?: boolean,
  ) => AmiManager;
  export default Manager;
}
