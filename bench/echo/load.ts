/*
 * Frame-echo load: `conns` connections each keep `window` frames of `size` bytes in flight
 * (pipelined), for `seconds`. Prints {"msgs": received frames, "seconds": measured time}, and
 * "cpu": the server's own CPU seconds over the same window when BENCH_SERVER_PID names it.
 * The client only counts bytes and writes pre-built buffers, so the server is the bottleneck.
 */
import * as net from 'node:net';
import { cpuSeconds } from '../lib';

const serverPid = Number(process.env.BENCH_SERVER_PID ?? NaN);

const [host, portArg, connsArg = '50', windowArg = '64', sizeArg = '32', secondsArg = '5', unixPath] = process.argv.slice(2);
const port = Number(portArg);
const conns = Number(connsArg);
const window = Number(windowArg);
const size = Number(sizeArg);
const seconds = Number(secondsArg);
const frameLen = size + 4;

const one = Buffer.alloc(frameLen, 'x');
one.writeUInt32BE(frameLen, 0);
const batch = Buffer.concat(Array.from({ length: window }, () => one));

let received = 0;
let measuring = false;
let stop = false;
const sockets: net.Socket[] = [];

for (let i = 0; i < conns; i++) {
  const s = unixPath ? net.connect(unixPath) : net.connect(port, host);
  s.setNoDelay(true);
  sockets.push(s);
  let bytes = 0;
  let sent = window;
  let got = 0;
  s.on('connect', () => s.write(batch));
  s.on('data', (d: Buffer) => {
    bytes += d.length;
    const frames = Math.floor(bytes / frameLen);
    bytes -= frames * frameLen;
    got += frames;
    if (measuring) received += frames;
    const inflight = sent - got;
    if (!stop && inflight <= window / 2) {
      const n = window - inflight;
      s.write(batch.subarray(0, n * frameLen));
      sent += n;
    }
  });
  s.on('error', (e) => {
    console.error(`load: ${e.message}`);
    process.exit(1);
  });
}

// a short warm-up, then measure
setTimeout(() => {
  measuring = true;
  const t0 = process.hrtime.bigint();
  const cpu0 = cpuSeconds(serverPid);
  setTimeout(() => {
    measuring = false;
    stop = true;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(serverPid) - cpu0;
    console.log(JSON.stringify({ msgs: received, seconds: secs, ...(Number.isNaN(cpu) ? {} : { cpu }) }));
    for (const s of sockets) s.destroy();
  }, seconds * 1000);
}, 1000);
