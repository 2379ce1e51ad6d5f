#!/usr/bin/python3
"""A merit-stream client in Python with Debian packages only (python3-confluent-kafka, python3-avro).

    merit_client.py produce -b HOST:PORT --session call-9 --channel customer [--mulaw] call-9.customer.wav
    merit_client.py consume -b HOST:PORT emotion-events emotion-alerts ...   # JSON lines on stdout

Every value on the topics is Avro single-object encoding: C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of
the writer schema, the Avro binary body. The schemas are the published files (schemas/src/main/resources/
schema-history/<Record>.v<N>.avsc): self-contained and language-neutral, so python3-avro computes the same
fingerprints as the job. Other languages do the same with their Avro library.

consume prints each record once: every output record carries a Kafka header merit-record-id that is the same each time
the job writes it, and the events, trends and alerts topics are at-least-once (a job restart may write some again), so
a record whose id was seen before on its topic is dropped (--keep-repeats prints it anyway).
"""
import argparse, base64, glob, io, json, os, sys, wave

import avro.io, avro.schema
from confluent_kafka import Consumer, Producer

HISTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "src", "main", "resources",
                       "schema-history")
T = [0] * 256
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (0xC15D213AA4D7A795 & -(fp & 1))
    T[i] = fp


def fingerprint(schema):  # CRC-64-AVRO of the parsing canonical form, little-endian
    fp = 0xC15D213AA4D7A795
    for b in schema.canonical_form.encode():
        fp = (fp >> 8) ^ T[(fp ^ b) & 0xFF]
    return fp.to_bytes(8, "little")


def schemas():  # fingerprint -> schema, every committed version of every record
    return {fingerprint(s): s for s in (avro.schema.parse(open(f).read()) for f in glob.glob(HISTORY + "/*.avsc"))}


def encode(schema, record):
    out = io.BytesIO(b"\xc3\x01" + fingerprint(schema))
    out.seek(10)
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def decode(known, value):
    schema = known[value[2:10]]  # KeyError: a fingerprint no committed version has
    return schema.name, avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(value[10:])))


def mulaw(sample):  # G.711 mu-law of one 16-bit sample (Sun's g711.c, as the job's decoder expects)
    value, mask = sample >> 2, 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 0x21
    segment = min(8, max(0, value.bit_length() - 6))
    return 0x7F ^ mask if segment == 8 else ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def produce(a):
    frame_schema = max((s for s in schemas().values() if s.name == "AudioFrame"), key=lambda s: len(s.fields))
    # one request in flight: a retried batch cannot overtake the next one (the job reorders only a little)
    producer = Producer({"bootstrap.servers": a.bootstrap, "acks": "all", "max.in.flight.requests.per.connection": 1})
    with wave.open(a.wav) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, "16-bit mono WAV expected"
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    step = 2 * rate // 50  # 20 ms frames
    for seq, start in enumerate(range(0, len(pcm), step)):
        chunk = pcm[start:start + step]
        if a.mulaw:
            chunk = bytes(mulaw(s) for s in memoryview(chunk).cast("h"))
        frame = {"sessionId": a.session, "channel": a.channel, "seq": seq, "timestampMs": 20 * seq,
                 "sampleRate": rate, "encoding": "PCM_MULAW" if a.mulaw else "PCM_S16LE", "payload": chunk,
                 "endOfStream": start + step >= len(pcm), "attributes": {}}
        producer.produce(a.topic, encode(frame_schema, frame), key=a.session.encode())
        producer.poll(0)
    producer.flush()


def consume(a):
    known = schemas()
    consumer = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.subscribe(a.topics)
    idle = 0.0
    seen = set()  # (topic, merit-record-id)
    while idle < a.idle_s:  # until no record arrived for idle_s seconds
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            idle += 0.5
            continue
        idle = 0.0
        record_id = dict(msg.headers() or []).get("merit-record-id")
        record_id = record_id.decode() if record_id is not None else None
        if record_id is not None and not a.keep_repeats:
            if (msg.topic(), record_id) in seen:
                continue
            seen.add((msg.topic(), record_id))
        name, record = decode(known, msg.value())
        as_json = lambda v: base64.b64encode(v).decode() if isinstance(v, bytes) else repr(v)  # noqa: E731
        print(json.dumps({"topic": msg.topic(), "record_type": name, "record_id": record_id, "record": record},
                         default=as_json), flush=True)
    consumer.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce")
    p.add_argument("wav")
    p.add_argument("--session", required=True)
    p.add_argument("--channel", required=True)
    p.add_argument("--topic", default="audio-frames")
    p.add_argument("--mulaw", action="store_true", help="send G.711 mu-law instead of 16-bit PCM")
    c = sub.add_parser("consume")
    c.add_argument("topics", nargs="+")
    c.add_argument("--group", default="merit-python-client")
    c.add_argument("--idle-s", type=float, default=5.0)
    c.add_argument("--keep-repeats", action="store_true", help="also print records whose merit-record-id came before")
    for s in (p, c):
        s.add_argument("-b", "--bootstrap", required=True)
    a = ap.parse_args()
    produce(a) if a.command == "produce" else consume(a)
