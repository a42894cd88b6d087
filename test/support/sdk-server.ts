import { after, before } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { startTestServer, type TestServer } from './test-server.js';

export interface SdkServer {
  server: TestServer;
  openai: OpenAI;
  ollama: Ollama;
}

/** A test server with both official SDKs pointed at it: started before the current suite, closed after it. */
export function sdkServer(): SdkServer {
  const sdk = {} as SdkServer;
  before(async () => {
    sdk.server = await startTestServer();
    sdk.openai = new OpenAI({ baseURL: `${sdk.server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    sdk.ollama = new Ollama({ host: sdk.server.url });
  });
  after(() => sdk.server?.close());
  return sdk;
}
