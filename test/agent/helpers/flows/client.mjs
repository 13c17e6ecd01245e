// Flow client for the handover test and bench. Opens CONNECTIONS long-lived TCP connections to
// HOST:PORT, prints "ready" once every one was greeted, then sends a numbered line on each every
// INTERVAL_MS and checks that the echoes come back complete and in order. After SECONDS it stops
// sending, waits for the last echoes and prints one JSON line per connection's fate, summed.
// Usage: node client.mjs HOST PORT CONNECTIONS SECONDS [INTERVAL_MS]
//        node client.mjs HOST PORT probe      (one connection: prints the address the server saw)
import net from 'node:net';

const [host, portText, countText, secondsText, intervalText] = process.argv.slice(2);
const port = Number(portText);
const STALL_MS = 2000;
const SETTLE_MS = 1500;

function greet() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({ socket, address: buffer.slice(6, newline), rest: buffer.slice(newline + 1) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.setTimeout(5000, () => reject(new Error('no greeting within 5 s')));
  });
}

if (countText === 'probe') {
  greet().then(
    ({ socket, address }) => {
      console.log(JSON.stringify({ address }));
      socket.destroy();
    },
    (error) => {
      console.log(JSON.stringify({ error: error.code ?? error.message }));
      process.exitCode = 1;
    },
  );
} else {
  const count = Number(countText);
  const seconds = Number(secondsText);
  const intervalMs = Number(intervalText ?? 100);
  const flows = [];
  // A few at a time: a burst of SYNs is not what this measures.
  for (let index = 0; index < count; index += 10) {
    flows.push(...(await Promise.all(Array.from({ length: Math.min(10, count - index) }, () => greet()))));
  }
  const states = flows.map(({ socket, address }) => {
    const state = { address, sent: 0, echoed: 0, outOfOrder: 0, error: undefined, closed: false, lastEchoAt: 0, maxGapMs: 0, buffer: '' };
    socket.setTimeout(0);
    socket.on('data', (chunk) => {
      state.buffer += chunk.toString();
      let newline;
      while ((newline = state.buffer.indexOf('\n')) >= 0) {
        const line = state.buffer.slice(0, newline);
        state.buffer = state.buffer.slice(newline + 1);
        if (Number(line) !== state.echoed + 1) state.outOfOrder++;
        state.echoed++;
        const now = Date.now();
        if (state.lastEchoAt) state.maxGapMs = Math.max(state.maxGapMs, now - state.lastEchoAt);
        state.lastEchoAt = now;
      }
    });
    socket.on('error', (error) => (state.error = error.code ?? error.message));
    socket.on('close', () => (state.closed = true));
    return { socket, state };
  });
  console.log('ready');
  const started = Date.now();
  for (const flow of states) flow.state.lastEchoAt = started;
  const timer = setInterval(() => {
    for (const { socket, state } of states) {
      if (state.closed || state.error) continue;
      state.sent++;
      socket.write(`${state.sent}\n`);
    }
  }, intervalMs);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  clearInterval(timer);
  const stoppedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const summary = { connections: states.length, survived: 0, reset: 0, closed: 0, lostData: 0, stalledOver2s: 0, maxGapMs: 0, addresses: {}, errors: {} };
  for (const { socket, state } of states) {
    // Silence up to the end counts as a gap too (a flow that just stopped is stalled).
    const gap = Math.max(state.maxGapMs, state.echoed < state.sent ? stoppedAt - state.lastEchoAt : 0);
    const lost = state.echoed !== state.sent || state.outOfOrder > 0;
    const reset = state.error !== undefined;
    const stalled = gap > STALL_MS;
    summary.addresses[state.address] = (summary.addresses[state.address] ?? 0) + 1;
    if (reset) summary.errors[state.error] = (summary.errors[state.error] ?? 0) + 1;
    summary.reset += reset ? 1 : 0;
    summary.closed += state.closed && !reset ? 1 : 0;
    summary.lostData += lost ? 1 : 0;
    summary.stalledOver2s += stalled ? 1 : 0;
    summary.maxGapMs = Math.max(summary.maxGapMs, gap);
    if (!reset && !state.closed && !lost && !stalled) summary.survived++;
    socket.destroy();
  }
  console.log(JSON.stringify(summary));
}
