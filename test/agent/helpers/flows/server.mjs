// Flow server for the handover test and bench: greets each connection with the address it sees
// (the NAT's), then echoes every byte back. Usage: node server.mjs PORT
import net from 'node:net';

const port = Number(process.argv[2]);
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.write(`hello ${socket.remoteAddress}\n`);
  socket.pipe(socket);
});
server.listen(port, '0.0.0.0', () => console.log('listening'));
