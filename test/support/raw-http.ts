import { connect } from 'node:net';
import { waitFor } from './wait.js';

/**
 * Sends `request` as written, bytes and all, to a server on 127.0.0.1, and
 * returns what came back once the response headers (or the close) arrived.
 * For what fetch cannot send: a Host header of the test's choosing, a body
 * that never ends.
 */
export async function rawRequest(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.on('data', (d) => (data += d));
  socket.write(request);
  await waitFor(() => socket.closed || /\r\n\r\n/.test(data), { what: 'a response' });
  socket.destroy();
  return data;
}
