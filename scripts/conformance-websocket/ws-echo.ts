/*
 * The `ws` side of `npm run conformance:websocket`: an echo server on the port given as the
 * first argument, permessage-deflate on (ws's defaults), maxFragments raised like beyod's (to 131072) so
 * section 9's 4 MiB messages in 64-byte fragments are accepted (ws 8.23's default is 16384).
 */
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: true, maxFragments: 128 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  // a protocol error closes the connection (with its code); without a listener it would throw
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ws echo on ${port}`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
