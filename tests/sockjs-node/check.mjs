// Real sockjs-client + @stomp/stompjs against a running kwanje: one STOMP session per SockJS
// transport (connect, subscribe, publish to itself over /topic/ops, receive everything: 200 KiB,
// past the 128 KiB at which a streaming response ends and the client opens the next), then a
// bad token.
// BASE (default http://127.0.0.1:18080) and TOKEN (an operator's JWT) come from the environment.
import SockJS from 'sockjs-client';
import { Client } from '@stomp/stompjs';

const base = process.env.BASE ?? 'http://127.0.0.1:18080';
const token = process.env.TOKEN;
const transports = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];
const MESSAGES = 50;
const FILLER = 'x'.repeat(4096);

function run(transport, tok) {
  return new Promise((resolve) => {
    let sock, usedAtConnect;
    const done = (result) => { clearTimeout(timer); client.deactivate().finally(() => resolve({ transport, used: usedAtConnect, ...result })); };
    const timer = setTimeout(() => done({ ok: false, why: 'timeout' }), 15000);
    const client = new Client({
      webSocketFactory: () => (sock = new SockJS(`${base}/sockjs`, null, { transports: [transport] })),
      connectHeaders: { Authorization: `Bearer ${tok}` },
      reconnectDelay: 0,
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
      onConnect: (frame) => {
        usedAtConnect = sock.transport;
        const channel = `/topic/ops/check-${transport}`;
        let received = 0;
        client.subscribe(channel, (msg) => {
          const expected = `${received} over ${transport} 관제 ${FILLER}`;
          if (msg.body !== expected || msg.headers.sender !== 'op-node') {
            done({ ok: false, why: `message ${received} differs`, got: msg.body.slice(0, 40) });
            return;
          }
          received += 1;
          if (received === MESSAGES) {
            done({ ok: true, received, server: frame.headers.server, version: frame.headers.version });
          }
        }, { receipt: 'sub' });
        client.watchForReceipt('sub', () => {
          for (let n = 0; n < MESSAGES; n++) {
            client.publish({ destination: channel, body: `${n} over ${transport} 관제 ${FILLER}` });
          }
        });
      },
      onStompError: (frame) => done({ ok: false, error: frame.headers.message }),
      onWebSocketClose: (evt) => { if (!client.connected) done({ ok: false, why: `closed ${evt.code} ${evt.reason}` }); },
    });
    client.activate();
  });
}

const results = [];
for (const t of transports) results.push(await run(t, token));
// A bad token: the ERROR frame reaches the client.
results.push({ case: 'bad token', ...(await run('xhr-polling', 'not-a-jwt')) });
for (const r of results) console.log(JSON.stringify(r));
process.exit(results.slice(0, 4).every((r) => r.ok && r.used === r.transport) && results[4].error ? 0 : 1);
