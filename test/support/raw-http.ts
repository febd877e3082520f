import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body as sent (not decoded from chunked). */
  text: string;
}

/**
 * Writes `head` on a new connection (then a space every 100 ms when `drip`) and reads one answer
 * until the connection closes: for requests HTTP clients will not send as written (`..` segments,
 * heads Node's parser refuses, a request that never ends).
 */
export function rawExchange(url: string, head: string, drip = false): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = drip ? setInterval(() => socket.writable && socket.write(' '), 100) : undefined;
    const limit = setTimeout(() => reject(new Error(`no answer to ${head.slice(0, 40)}`)), 8_000);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(limit);
      const end = received.indexOf('\r\n\r\n');
      const lines = received.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(lines[0].split(' ')[1]), headers, text: received.slice(end + 4) });
    });
    socket.write(head);
  });
}
