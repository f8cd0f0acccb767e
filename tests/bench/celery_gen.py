"""Publishes real Celery event envelopes (kombu 5's JSON with a base64 body, as Debian's
Celery 5.2.6 sends them on a Redis broker) for the Celery bridge's bench
(tests/bench/celery.sh): WORKERS simulated workers online and beating every 2 s, and a
sustained RATE of task events a second (received, started, succeeded per task, in
task.multi lists of up to 24 like a prefork worker), for SECONDS. Prints what it sent.

usage: celery_gen.py REDIS_URL WORKERS RATE SECONDS
"""
import base64
import json
import sys
import time
import uuid

import redis


def envelope(body, rk, host):
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {"hostname": host},
        "properties": {"delivery_mode": 1, "delivery_info": {"exchange": "celeryev", "routing_key": rk},
                       "priority": 0, "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())}})


def main():
    url, workers, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    r = redis.Redis.from_url(url)
    db = r.connection_pool.connection_kwargs.get("db", 0)
    prefix = "/%d.celeryev/" % db
    hosts = ["celery@bench-%04d" % i for i in range(workers)]
    processed = [0] * workers

    def worker_event(i, typ, now):
        return {"hostname": hosts[i], "utcoffset": 0, "pid": 10000 + i, "clock": 1, "freq": 2.0,
                "active": 1, "processed": processed[i], "loadavg": [0.5, 0.4, 0.3],
                "sw_ident": "py-celery", "sw_ver": "5.2.6", "sw_sys": "Linux", "timestamp": now, "type": typ}

    p = r.pipeline(transaction=False)
    now = time.time()
    for i in range(workers):
        p.publish(prefix + "worker.online", envelope(worker_event(i, "worker-online", now), "worker.online", hosts[i]))
    p.execute()

    tick = 0.1
    start = time.monotonic()
    sent_events = tasks = beats = messages = 0
    owed = 0.0
    nxt = start
    k = 0
    while time.monotonic() - start < seconds:
        now = time.time()
        p = r.pipeline(transaction=False)
        # Each worker beats every 2 s: a twentieth of them each tick.
        for i in range(k % 20, workers, 20):
            p.publish(prefix + "worker.heartbeat", envelope(worker_event(i, "worker-heartbeat", now), "worker.heartbeat", hosts[i]))
            beats += 1
            messages += 1
        owed += rate * tick
        batch = []
        host_i = k % workers
        while owed >= 3:
            tid = str(uuid.uuid4())
            h = hosts[host_i]
            batch += [
                {"hostname": h, "uuid": tid, "name": "bench.add", "args": "(1, 2)", "kwargs": "{}", "root_id": tid,
                 "parent_id": None, "retries": 0, "eta": None, "expires": None, "timestamp": now, "type": "task-received"},
                {"hostname": h, "uuid": tid, "timestamp": now, "type": "task-started"},
                {"hostname": h, "uuid": tid, "result": "3", "runtime": 0.01, "timestamp": now, "type": "task-succeeded"},
            ]
            processed[host_i] += 1
            owed -= 3
            tasks += 1
            sent_events += 3
            if len(batch) >= 24:
                p.publish(prefix + "task.multi", envelope(batch, "task.multi", h))
                messages += 1
                batch = []
                host_i = (host_i + 1) % workers
        if batch:
            p.publish(prefix + "task.multi", envelope(batch, "task.multi", hosts[host_i]))
            messages += 1
        p.execute()
        k += 1
        nxt += tick
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    print("tasks %d" % tasks)
    print("task_events %d" % sent_events)
    print("heartbeats %d" % beats)
    print("messages %d" % messages)
    print("seconds %.2f" % elapsed)
    print("task_events_per_s %.0f" % (sent_events / elapsed))


if __name__ == "__main__":
    main()
