// real_kafkajs.js — kafkajs 2.2.4 against a streamlab real-mode cluster.
//   node real_kafkajs.js BOOTSTRAP TOPIC N
// Produces N records with acks=all (-1), then reads them back with a consumer
// group (unless KAFKAJS_GROUP=0); exits 0 when every record came back.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, nText] = process.argv.slice(2);
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

(async () => {
  const acked = await produce();
  if (acked !== n) fail('acked ' + acked + ' of ' + n);
  let line = 'kafkajs: created ' + topic + ', produced ' + acked + ' acks=all';
  if (process.env.KAFKAJS_GROUP !== '0') line += ', group consumer read ' + (await consumeGroup());
  console.log(line);
})().catch((e) => fail(e.stack || String(e)));
