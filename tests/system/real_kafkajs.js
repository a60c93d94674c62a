// real_kafkajs.js — kafkajs 2.2.4 against a streamlab real-mode cluster.
//   node real_kafkajs.js BOOTSTRAP TOPIC N
// Produces N records with acks=all (-1), then reads them back with a consumer
// group (unless KAFKAJS_GROUP=0); exits 0 when every record came back.
//   node real_kafkajs.js produce-log BOOTSTRAP TOPIC SECONDS ACKED_FILE
// An idempotent producer (InitProducerId, sequence numbers, one request in flight)
// writing batches of 10 for SECONDS; each acknowledged value goes to ACKED_FILE.
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const logMode = process.argv[2] === 'produce-log';
const [bootstrap, topic, nText, ackedFile] = process.argv.slice(logMode ? 3 : 2);
const n = parseInt(nText, 10);
const kafka = new Kafka({
  clientId: 'streamlab-real-test',
  brokers: bootstrap.split(','),
  logLevel: logLevel.WARN,
  retry: { retries: 8 },
});

function fail(msg) {
  console.log('kafkajs: FAIL: ' + msg);
  process.exit(1);
}

async function produce() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let acked = 0;
  for (let start = 0; start < n; start += 100) {
    const messages = [];
    for (let i = start; i < Math.min(n, start + 100); i++) messages.push({ key: String(i % 5), value: 'kafkajs-' + i });
    const res = await producer.send({ topic, acks: -1, messages });
    for (const r of res) if (r.errorCode !== 0) fail('produce error ' + r.errorCode);
    acked += messages.length;
  }
  await producer.disconnect();
  return acked;
}

async function consumeGroup() {
  const consumer = kafka.consumer({ groupId: 'kafkajs-' + topic });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('group consumer saw ' + seen.size + ' of ' + n)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value.toString());
        if (seen.size === n) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen.size;
}

async function produceLog(seconds) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const out = fs.openSync(ackedFile, 'w');
  const end = Date.now() + seconds * 1000;
  let sent = 0, acked = 0, failed = 0;
  while (Date.now() < end) {
    // One partition per send(): kafkajs 2.2.4 keeps the answers of a multi-broker
    // send across its retries, and a retry whose partitions moved to a broker that
    // had already answered resolves without sending them (tulios/kafkajs#1798;
    // null-key messages are also re-partitioned on a retry).  Seen here as acked
    // records in no broker's log after kill -9 of a leader.
    const partition = (sent / 10) % 3;
    const messages = [];
    for (let k = 0; k < 10; k++) messages.push({ partition, value: 'js-' + sent++ });
    try {
      await producer.send({ topic, acks: -1, messages });
      fs.writeSync(out, messages.map((m) => m.value + '\n').join(''));
      acked += messages.length;
    } catch (e) {
      failed += messages.length;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  fs.closeSync(out);
  await producer.disconnect();
  console.log('kafkajs idempotent producer: sent ' + sent + ', acked ' + acked + ', failed ' + failed);
  if (acked === 0) fail('no record acknowledged');
}

(async () => {
  if (logMode) return produceLog(parseFloat(nText));
  const acked = await produce();
  if (acked !== n) fail('acked ' + acked + ' of ' + n);
  let line = 'kafkajs: created ' + topic + ', produced ' + acked + ' acks=all';
  if (process.env.KAFKAJS_GROUP !== '0') line += ', group consumer read ' + (await consumeGroup());
  console.log(line);
})().catch((e) => fail(e.stack || String(e)));
