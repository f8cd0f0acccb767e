"""The Celery bridge end to end (run by tests/celery/run.sh, which starts the stack).

Real Celery workers (Debian's 5.2.6) publish events to the stack's Redis; runwatch-celery
posts them to the API; every assertion reads the database. No sleep-then-assert: each
check waits for its condition with a generous deadline, and fails with what it saw.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import uuid
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
TMP = os.environ["RWCELERY_TMP"]
STACK = os.environ["RWCELERY_STACK"]
BROKER = os.environ["RWCELERY_BROKER"]
os.environ["RWCELERY_BROKER"] = BROKER

import redis  # noqa: E402
from celery import chain, chord, group  # noqa: E402

import rwapp  # noqa: E402

failures = []
P = "(SELECT id FROM projects WHERE slug = 'celery')"


def say(msg):
    print("celery test: " + msg, flush=True)


def q(sql):
    p = subprocess.run([STACK, "psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return "psql error: " + p.stderr.strip()
    return p.stdout.strip()


def check(desc, sql, expected, deadline=60):
    """Waits until the query answers expected (a string), then passes; fails at the deadline."""
    end = time.monotonic() + deadline
    got = None
    while True:
        got = q(sql)
        if got == expected:
            say("ok   " + desc)
            return True
        if time.monotonic() > end:
            say("FAIL %s: expected %r, got %r" % (desc, expected, got))
            failures.append(desc)
            return False
        time.sleep(0.2)


def record_pgid(pid):
    with open(os.path.join(TMP, "pgids"), "a") as f:
        f.write("%d\n" % pid)


def start_worker(name, queues="celery", extra=(), env=None):
    log = open(os.path.join(TMP, "worker-%s.log" % name), "w")
    p = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "rwapp", "worker", "-E", "-c", "2", "-n", name,
         "-Q", queues, "--without-mingle", "--without-gossip", "--loglevel=INFO", *extra],
        cwd=HERE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, **(env or {})))
    record_pgid(p.pid)
    return p


def start_bridge(**extra_env):
    log = open(os.path.join(TMP, "var", "log", "celery.log"), "a")
    env = dict(os.environ, RUNWATCH_CELERY_BROKER=BROKER, RUNWATCH_CELERY_URL=os.environ["RWCELERY_URL"],
               RUNWATCH_CELERY_TOKEN=os.environ["RWCELERY_TOKEN"], RUNWATCH_CELERY_FLUSH_MS="100")
    env.update(extra_env)
    p = subprocess.Popen([os.environ["RWCELERY_BIN"]], env=env, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    record_pgid(p.pid)
    return p


def serve_silently(srv):
    """A Redis that answers AUTH, SELECT and PSUBSCRIBE as Redis does, then nothing (PING
    included): what a stopped broker looks like once the subscription is in place."""
    def parse(buf):
        if not buf.startswith(b"*") or b"\r\n" not in buf:
            return None, buf
        head, rest = buf.split(b"\r\n", 1)
        args = []
        for _ in range(int(head[1:])):
            if b"\r\n" not in rest:
                return None, buf
            ln, rest = rest.split(b"\r\n", 1)
            n = int(ln[1:])
            if len(rest) < n + 2:
                return None, buf
            args.append(rest[:n])
            rest = rest[n + 2:]
        return args, rest

    def serve(conn):
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while True:
                cmd, buf = parse(buf)
                if cmd is None:
                    break
                name = cmd[0].lower()
                if name in (b"auth", b"select"):
                    conn.sendall(b"+OK\r\n")
                elif name == b"psubscribe":
                    conn.sendall(b"*3\r\n$10\r\npsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(cmd[1]), cmd[1]))
    try:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except OSError:
        pass  # closed at the end of its part


def stops_when_asked(bridge, despite):
    """SIGTERM, then the bridge must exit within 30 s despite what it is stuck with."""
    bridge.send_signal(signal.SIGTERM)
    try:
        bridge.wait(timeout=30)
        say("ok   …and stops when asked")
    except subprocess.TimeoutExpired:
        failures.append("the bridge stops with " + despite)
        say("FAIL the bridge did not stop within 30 s with " + despite)
        bridge.kill()


def wait_result(res, timeout=60):
    return res.get(timeout=timeout, propagate=False)


def post(body):
    req = urllib.request.Request(os.environ["RWCELERY_URL"] + "/api/v1/celery/events",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + os.environ["RWCELERY_TOKEN"],
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def run_of(task_id, cols):
    return "SELECT %s FROM runs r LEFT JOIN celery_tasks c ON c.run_id = r.id WHERE r.id = '%s'" % (cols, task_id)


def fold_burst(host, pid):
    """A burst of the shapes celery_ingest() folds set-based (a first delivery seen whole,
    in any order, with or without the backend's word) and one it must not (a retry), plus
    a heartbeat; and the rest of first deliveries received in an earlier burst (the first
    list, to post before): (earlier events, events, the uuids of its tasks, how many should
    fold)."""
    t = time.time()
    ids = [str(uuid.uuid4()) for _ in range(17)]

    def ev(typ, i, dt, **kw):
        e = {"type": typ, "uuid": ids[i], "timestamp": t + dt, "hostname": host, "utcoffset": -1}
        e.update(kw)
        return e

    def rec(i, dt, **kw):
        fields = {"name": "rwapp.fold", "args": "(%d,)" % i, "kwargs": "{}", "root_id": ids[i],
                  "parent_id": None, "retries": 0}
        fields.update(kw)
        return ev("task-received", i, dt, **fields)

    def ok(i, dt):
        return ev("task-succeeded", i, dt, result="'r%d'" % i, runtime=0.5)

    evs = [rec(0, 0), ev("task-started", 0, 1), ok(0, 2),            # in order
           ok(1, 2), ev("task-started", 1, 1), rec(1, 0),            # reversed
           ev("task-started", 2, 1), ok(2, 2), rec(2, 0),            # the start first
           rec(3, 0),                                                # received only
           ev("task-started", 4, 1),                                 # started only
           ok(5, 2),                                                 # succeeded only
           rec(6, 0), ev("task-started", 6, 1),                      # still running
           ev("task-started", 7, 3), rec(7, 0, queue="q7", eta="2030-01-01T00:00:00"),
           rec(8, 0), ev("task-started", 8, 1), ok(8, 2),            # with the backend's word
           ok(9, 5), rec(9, 6, parent_id=ids[9]),                    # names itself as parent
           rec(10, 0), ev("task-started", 10, 1),                    # a retry: not folded
           ev("task-retried", 10, 2, exception="KeyError('k')", traceback="tb"),
           rec(10, 3, retries=1), ev("task-started", 10, 4), ok(10, 5),
           {"type": "worker-heartbeat", "hostname": host, "timestamp": t + 1, "received": t + 1,
            "pid": pid, "freq": 3600.0, "active": 2, "processed": 7, "loadavg": [0.1, 0.2, 0.3],
            "sw_ident": "py-celery", "sw_ver": "5.2.6", "sw_sys": "Linux"},
           {"type": "backend-meta", "uuid": ids[8], "status": "SUCCESS", "group_id": "fold-group",
            "children": [ids[11]], "date_done": t + 2}]
    earlier = [rec(12, -3), rec(13, -3), rec(14, -3), rec(15, -3), ev("task-started", 15, -2),
               rec(16, -3)]
    evs += [ev("task-started", 12, 1), ok(12, 2),                    # started and ended now
            ok(13, 2),                                               # ended now
            ok(14, 2), ev("task-started", 14, 1),                    # reversed
            ok(15, 2), {"type": "backend-meta", "uuid": ids[15], "status": "SUCCESS",
                        "group_id": "fold-group-2", "date_done": t + 2},
            ev("task-started", 16, 1)]                               # started now
    return earlier, evs, ids[:11] + ids[12:], 15


def fold_dump(project, burst, ids, host, fold):
    """Applies the burst in a transaction that is rolled back; answers the rows it left
    (ids and clocks of the moment left out) and how many tasks were folded."""
    arr = "ARRAY['%s']::uuid[]" % "','".join(ids)
    sql = """BEGIN;
SET LOCAL runwatch.celery_fold = '%s';
SELECT celery_ingest(%s, '%s'::jsonb) IS NULL;
SELECT jsonb_build_object(
  'folded', (SELECT count(*) FROM pg_temp.celery_fold),
  'runs', (SELECT jsonb_agg(to_jsonb(r) - 'updated_at' ORDER BY r.id) FROM runs r WHERE r.id = ANY (%s)),
  'attempts', (SELECT jsonb_agg(to_jsonb(a) - 'id' ORDER BY a.run_id, a.seq) FROM attempts a WHERE a.run_id = ANY (%s)),
  'tasks', (SELECT jsonb_agg(to_jsonb(c) - 'updated_at' ORDER BY c.run_id) FROM celery_tasks c WHERE c.run_id = ANY (%s)),
  'events', (SELECT jsonb_agg(jsonb_build_object('run', e.run_id, 'kind', e.kind, 'message', e.message) ORDER BY e.run_id, e.kind) FROM events e WHERE e.run_id = ANY (%s)),
  'deps', (SELECT jsonb_agg(to_jsonb(d) ORDER BY d.run_id) FROM run_deps d WHERE d.run_id = ANY (%s)),
  'worker', (SELECT to_jsonb(w) FROM workers w WHERE w.project_id = %s AND w.name = '%s'),
  'celery_worker', (SELECT to_jsonb(c) FROM celery_workers c JOIN workers w ON w.id = c.worker_id WHERE w.project_id = %s AND w.name = '%s'),
  'sessions', (SELECT jsonb_agg(to_jsonb(s) ORDER BY s.id) FROM worker_sessions s JOIN workers w ON w.id = s.worker_id WHERE w.project_id = %s AND w.name = '%s'),
  'samples', (SELECT jsonb_agg(jsonb_build_object('ts', s.ts, 'sample', s.sample) ORDER BY s.ts) FROM worker_samples s JOIN workers w ON w.id = s.worker_id WHERE w.project_id = %s AND w.name = '%s'),
  'rollups', (SELECT jsonb_agg(x ORDER BY x::text) FROM (SELECT side, t, kind, queue, status, v, sum(n) AS n FROM rollup_delta WHERE project_id = %s AND xmin = pg_current_xact_id()::xid GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0) x),
  'counters', (SELECT jsonb_build_array(sum(started), sum(succeeded), sum(failed), sum(cancelled)) FROM run_counters WHERE project_id = %s));
ROLLBACK;""" % ("on" if fold else "off", project, json.dumps({"events": burst}).replace("'", "''"),
                arr, arr, arr, arr, arr, project, host, project, host, project, host, project, host,
                project, project)
    out = q(sql).splitlines()
    return json.loads(out[-1]) if out and out[-1].startswith("{") else {"error": out}


def main():
    r = redis.Redis.from_url(BROKER)
    bridge = start_bridge()
    w1 = start_worker("w1@rwtest", extra=("--heartbeat-interval", "1"))
    check("worker w1 online with a session", "SELECT count(*) FROM workers w JOIN worker_sessions s ON "
          "s.worker_id = w.id AND s.ended_at IS NULL WHERE w.project_id = %s AND w.name = 'w1@rwtest' "
          "AND w.status IN ('idle', 'busy')" % P, "1")

    # --- plain tasks, a failure, an autoretry
    add = rwapp.add.delay(2, 3)
    mul = rwapp.mul.delay(4, 5)
    boom = rwapp.boom.delay("bad input 42")
    flaky = rwapp.flaky.delay("m")
    for res in (add, mul, boom, flaky):
        wait_result(res)
    check("add: succeeded with its repr strings", run_of(add.id, "r.kind || '|' || r.status || '|' || c.args || '|' || c.result || '|' || (r.input->>'args') || '|' || (c.runtime > 0)::text"),
          "rwapp.add|succeeded|(2, 3)|5|(2, 3)|true")
    check("add: one attempt, succeeded, on w1", "SELECT string_agg(a.seq || ':' || a.status || ':' || w.name, ',') FROM attempts a JOIN workers w ON w.id = a.worker_id WHERE a.run_id = '%s'" % add.id,
          "1:succeeded:w1@rwtest")
    check("mul: succeeded, 20", run_of(mul.id, "r.status || '|' || c.result"), "succeeded|20")
    check("boom: failed with type, message, traceback and fingerprint",
          run_of(boom.id, "r.status || '|' || r.error_type || '|' || r.error_message || '|' || (r.error_traceback LIKE '%ValueError%')::text || '|' || (r.error_fingerprint IS NOT NULL)::text"),
          "failed|ValueError|bad input 42|true|true")
    check("flaky: succeeded after two retries, three attempts",
          "SELECT string_agg(seq || ':' || status || ':' || coalesce(error_type, '-'), ',' ORDER BY seq) FROM attempts WHERE run_id = '%s'" % flaky.id,
          "1:failed:KeyError,2:failed:KeyError,3:succeeded:-")
    check("flaky: the run succeeded, retries 2, no self-parent",
          run_of(flaky.id, "r.status || '|' || c.retries || '|' || coalesce(r.parent_id::text, 'none') || '|' || r.attempt_seq"),
          "succeeded|2|none|3")

    # --- canvases
    ch = chain(rwapp.add.s(1, 2), rwapp.mul.s(3)).apply_async()
    g = group(rwapp.add.s(i, i) for i in range(3)).apply_async()
    cd = chord([rwapp.add.s(1, 1), rwapp.add.s(2, 2)], rwapp.tsum.s()).apply_async()
    sp = rwapp.spawn.delay(5)
    wait_result(ch)
    g.get(timeout=60)
    wait_result(cd)
    child_id = wait_result(sp)
    first = ch.parent.id
    check("chain: the second link's parent and root are the first", run_of(ch.id, "r.parent_id::text || '|' || r.root_id::text || '|' || r.status"),
          "%s|%s|succeeded" % (first, first))
    check("group: every member has the group id",
          "SELECT count(*) FROM runs WHERE group_id = '%s' AND status = 'succeeded'" % g.id, "3")
    header = cd.parent.id
    header_ids = [x.id for x in cd.parent.results]
    check("chord: the header tasks carry the header group",
          "SELECT count(*) FROM runs WHERE group_id = '%s' AND id IN ('%s')" % (header, "','".join(header_ids)), "2")
    check("chord: the callback waits for the header group (run_deps)",
          "SELECT dep_group_id FROM run_deps WHERE run_id = '%s'" % cd.id, header)
    check("chord: the callback is no member of the group", run_of(cd.id, "coalesce(r.group_id, 'none') || '|' || r.status || '|' || c.result"),
          "none|succeeded|6")
    check("spawn: the dynamic child's parent is the spawner", run_of(child_id, "r.parent_id::text || '|' || r.root_id::text"),
          "%s|%s" % (sp.id, sp.id))
    check("spawn: the dynamic child is no chord callback", "SELECT count(*) FROM run_deps WHERE run_id = '%s'" % child_id, "0")
    check("chain: links are no chord callbacks", "SELECT count(*) FROM run_deps WHERE run_id = '%s'" % ch.id, "0")

    # --- an unregistered name
    nope = rwapp.app.send_task("rwapp.nope", args=(1,))
    check("unregistered: failed, named, flagged",
          run_of(nope.id, "r.kind || '|' || r.status || '|' || c.unregistered::text || '|' || r.error_type"),
          "rwapp.nope|failed|true|NotRegistered")

    # --- a long task revoked with terminate
    long_ = rwapp.sleepy.delay(120)
    check("long task running", run_of(long_.id, "r.status"), "running")
    rwapp.app.control.revoke(long_.id, terminate=True)
    check("revoked: cancelled, terminated noted",
          run_of(long_.id, "r.status || '|' || c.terminated::text || '|' || r.attempt_status"),
          "cancelled|true|cancelled")
    check("revoked: an event says so", "SELECT count(*) FROM events WHERE run_id = '%s' AND kind = 'celery.revoked'" % long_.id, "1")

    # --- the set-based apply of a burst leaves exactly the rows of the event-by-event one
    st, ans = post({"events": [{"type": "worker-online", "hostname": "fold@rwtest", "timestamp": time.time(),
                                "pid": 4242, "freq": 3600.0}]})
    check("a worker for the folding check", "SELECT '%d:%s'" % (st, ans.get("applied")), "200:1")
    project = q("SELECT id FROM projects WHERE slug = 'celery'")
    earlier, burst, ids, nfold = fold_burst("fold@rwtest", 4242)
    st, ans = post({"events": earlier})
    check("…and tasks received before the folded burst", "SELECT '%d:%s'" % (st, ans.get("applied")), "200:%d" % len(earlier))
    folded = fold_dump(project, burst, ids, "fold@rwtest", True)
    plain = fold_dump(project, burst, ids, "fold@rwtest", False)
    check("a burst's first deliveries are folded set-based", "SELECT '%s'" % folded.get("folded"), str(nfold))
    diff = sorted(k for k in set(folded) | set(plain) if k != "folded" and folded.get(k) != plain.get(k))
    for k in diff:
        say("folded %s: %s" % (k, json.dumps(folded.get(k))))
        say("one by one %s: %s" % (k, json.dumps(plain.get(k))))
    check("…leaving the rows the event-by-event apply leaves", "SELECT '%s'" % (",".join(diff) or "same"), "same")
    check("…and rows at all", "SELECT '%s'" % (len(folded.get("runs") or []), ), "16")
    done = [{"type": "task-succeeded", "uuid": e["uuid"], "timestamp": time.time(), "hostname": "fold@rwtest",
             "result": "None", "runtime": 0.1} for e in earlier if e["type"] == "task-received"]
    st, ans = post({"events": done})
    check("the tasks received before end when their success comes in a later burst",
          "SELECT count(*) FROM runs WHERE id IN ('%s') AND status = 'succeeded' AND attempt_status = 'succeeded'"
          % "','".join(e["uuid"] for e in done), str(len(done)))

    # --- a late task-received never moves a finished task back (posted by hand, as a
    # reordered stream would deliver it)
    st, ans = post({"events": [{"type": "task-received", "uuid": add.id, "timestamp": time.time() - 3600,
                                "hostname": "w1@rwtest", "name": "rwapp.add", "args": "(2, 3)",
                                "kwargs": "{}", "retries": 0}]})
    check("a late task-received is applied", "SELECT '%d:%s'" % (st, ans.get("applied")), "200:1")
    check("…and the finished task stays succeeded", run_of(add.id, "r.status || '|' || r.attempt_seq"), "succeeded|1")
    # Bad input: 4xx naming the field.
    st, ans = post({"events": [{"type": "task-started", "uuid": "not-a-uuid", "timestamp": 1}]})
    check("a bad uuid is a 400 naming the field", "SELECT '%d:%s'" % (st, ans.get("error", {}).get("field")),
          "400:events[0].uuid")
    st, ans = post({"events": [{"type": "task-started", "uuid": add.id, "timestamp": "soon"}]})
    check("a bad timestamp is a 400 naming the field", "SELECT '%d:%s'" % (st, ans.get("error", {}).get("field")),
          "400:events[0].timestamp")

    # --- hostile envelopes on the wire: counted, skipped, the bridge stays up
    ch_name = "/3.celeryev/task.multi"
    good = rwapp.add.delay(40, 2)
    hostile = [
        b"not json at all",
        json.dumps({"body": "%%%not base64%%%"}).encode(),
        json.dumps({"body": base64.b64encode(b"{not json").decode()}).encode(),
        json.dumps({"body": base64.b64encode(json.dumps([{"type": "task-started", "uuid": "x", "timestamp": "t"}]).encode()).decode()}).encode(),
        json.dumps({"body": base64.b64encode(json.dumps({"type": 7}).encode()).decode()}).encode(),
        json.dumps({"body": base64.b64encode(b"[]").decode()}).encode(),
        json.dumps({"body": base64.b64encode(json.dumps([{"type": "task-started", "uuid": good.id, "timestamp": 1e300}]).encode()).decode()}).encode(),
        b'{"body": "' + b"A" * (5 << 20) + b'"}',
        json.dumps({"body": base64.b64encode(b"\xff\xfe invalid utf-8").decode()}).encode(),
        json.dumps({"body": base64.b64encode(json.dumps({"type": "task-succeeded", "uuid": "0badc0de-0000-4000-8000-000000000000", "timestamp": time.time(), "result": "\u0000"}).encode()).decode()}).encode(),
    ]
    for h in hostile:
        r.publish(ch_name, h)
    wait_result(good)
    check("after hostile envelopes the bridge is alive and stores the next task",
          run_of(good.id, "r.status || '|' || c.result"), "succeeded|42")
    if bridge.poll() is not None:
        failures.append("bridge exited on hostile input")

    # --- the bridge restarts mid-stream
    # w3 stores its results with result_extended (the meta names the task).
    w3 = start_worker("w3@rwtest", queues="w3q", env={"RWCELERY_RESULT_EXTENDED": "1"})
    check("worker w3 online", "SELECT status FROM workers WHERE project_id = %s AND name = 'w3@rwtest'" % P, "idle")
    # It ends while the bridge is down because the test releases it then: a sleepy(4) had to
    # outlast two checks and the bridge's stop, which a busy box did not always allow.
    release = os.path.join(TMP, "release-" + str(uuid.uuid4()))
    running = rwapp.until_file.delay(release, 600)
    check("a task in flight before the restart is running", run_of(running.id, "r.status"), "running")
    silent = rwapp.sleepy.delay(300)
    check("a second one too", run_of(silent.id, "r.status"), "running")
    bridge.send_signal(signal.SIGTERM)
    bridge.wait(timeout=60)
    before = q("SELECT count(*) FROM runs WHERE project_id = %s" % P)
    open(release, "w").close()
    wait_result(running)  # it ends while the bridge is down
    # Tasks sent, run and ended entirely while the bridge is down: no event of theirs is
    # ever seen; the backend scan after the restart finds them.
    gap_ok = rwapp.add.delay(40, 2)
    gap_bad = rwapp.boom.delay("while the bridge slept")
    gap_ext = rwapp.mul.apply_async((6, 7), queue="w3q")
    for res in (gap_ok, gap_bad, gap_ext):
        wait_result(res)
    # An old result in the backend (ended long before the fleet was last heard): the scan
    # leaves it alone, so a restart never imports a backend's history.
    ancient = str(uuid.uuid4())
    r.set("celery-task-meta-" + ancient, json.dumps({
        "status": "SUCCESS", "result": 1, "traceback": None, "children": [],
        "date_done": "2020-01-01T00:00:00.000000", "task_id": ancient}))
    # The worker's revoked event for `silent` comes later, with the bridge back.
    bridge = start_bridge()
    check("stored runs stay across the restart", "SELECT (count(*) >= %s)::text FROM runs WHERE project_id = %s" % (before, P), "true")
    check("a task that ended while the bridge was down is reconciled from the backend",
          run_of(running.id, "r.status || '|' || c.unknown::text"), "succeeded|false")
    check("…with an event saying so", "SELECT count(*) FROM events WHERE run_id = '%s' AND kind = 'celery.reconciled'" % running.id, "1")
    check("a task the backend knows nothing of is shown as unknown", run_of(silent.id, "r.status || '|' || c.unknown::text"),
          "running|true")
    check("a task run entirely in the gap is discovered from the backend, at its end, kind unknown without result_extended",
          run_of(gap_ok.id, "r.status || '|' || r.kind || '|' || c.result || '|' || ('celery.discovered' = ANY(r.tags))::text"),
          "succeeded|celery.unknown|42|true")
    check("…with an event saying so", "SELECT count(*) FROM events WHERE run_id = '%s' AND kind = 'celery.discovered'" % gap_ok.id, "1")
    check("a failure in the gap is discovered failed, with its error",
          run_of(gap_bad.id, "r.status || '|' || r.error_type || '|' || (r.error_traceback LIKE '%%ValueError%%')::text"),
          "failed|ValueError|true")
    check("with result_extended the discovered task has its name, args, worker (linked) and queue",
          run_of(gap_ext.id, "r.status || '|' || r.kind || '|' || c.args || '|' || c.hostname || '|' || r.queue || '|' || c.result"
                 " || '|' || coalesce((SELECT w.name FROM workers w WHERE w.id = r.worker_id), '-')"),
          "succeeded|rwapp.mul|[6,7]|w3@rwtest|w3q|42|w3@rwtest")
    check("a result that ended before the fleet was last heard is not imported",
          "SELECT count(*) FROM runs WHERE id = '%s'" % ancient, "0")
    rwapp.app.control.revoke(silent.id, terminate=True)
    check("its next event clears unknown", run_of(silent.id, "r.status || '|' || c.unknown::text"), "cancelled|false")
    log = open(os.path.join(TMP, "var", "log", "celery.log")).read()
    stats = [line for line in log.splitlines() if '"stats messages=' in line or "stats messages=" in line]
    say("bridge stats at stop: " + (stats[-1] if stats else "none"))
    want = ("bad_json=3", "bad_base64=1", "too_big=1")
    if not any(all(w in line for w in want) for line in stats):
        failures.append("hostile envelopes counted")
        say("FAIL hostile envelopes counted (%s)" % ", ".join(want))
    else:
        say("ok   hostile envelopes counted")

    # --- a worker killed with -9 mid-task
    w2 = start_worker("w2@rwtest", queues="w2q", extra=("--heartbeat-interval", "1"))
    check("worker w2 online", "SELECT status FROM workers WHERE project_id = %s AND name = 'w2@rwtest'" % P, "idle")
    doomed = rwapp.sleepy.apply_async((120,), queue="w2q")
    check("the doomed task runs on w2", run_of(doomed.id, "r.status"), "running")
    os.killpg(w2.pid, signal.SIGKILL)
    w2.wait()
    check("w2 is offline, its session lost", "SELECT w.status || '|' || s.end_reason FROM workers w JOIN worker_sessions s ON s.worker_id = w.id WHERE w.project_id = %s AND w.name = 'w2@rwtest' ORDER BY s.id DESC LIMIT 1" % P,
          "offline|lost")
    check("its task in flight is interrupted", run_of(doomed.id, "r.status || '|' || r.error_type || '|' || c.state"),
          "failed|WorkerLost|INTERRUPTED")
    check("…with an interrupted event", "SELECT count(*) FROM events WHERE run_id = '%s' AND kind = 'interrupted'" % doomed.id, "1")

    # --- a result backend that accepts connections and never answers (a stopped Redis, a
    # network path that drops silently): the bridge's commands to it time out, it says so,
    # and the events go on being stored without the backend's word.
    bridge.send_signal(signal.SIGTERM)
    bridge.wait(timeout=30)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    held = []

    def hold():  # accepts every connection and never answers on it
        try:
            while True:
                held.append(hole.accept())
        except OSError:
            pass  # closed at the end of this part
    threading.Thread(target=hold, daemon=True).start()
    log_at = os.path.getsize(os.path.join(TMP, "var", "log", "celery.log"))
    bridge = start_bridge(RUNWATCH_CELERY_BACKEND="redis://127.0.0.1:%d/3" % hole.getsockname()[1])

    def bridge_said(what, deadline=60):
        end = time.monotonic() + deadline
        said = ""
        while time.monotonic() < end and what not in said:
            with open(os.path.join(TMP, "var", "log", "celery.log")) as f:
                f.seek(log_at)
                said = f.read()
            time.sleep(0.2)
        return said
    # Events published before the bridge subscribes reach no one (pub/sub keeps nothing), and
    # the backend that would let it discover them is the silent one: wait for the subscription.
    if "subscribed to" not in bridge_said("subscribed to"):
        failures.append("the bridge with a silent backend subscribes")
        say("FAIL the bridge with a silent backend never subscribed")
    mute = rwapp.mul.apply_async((5, 5), queue="w3q")
    wait_result(mute)
    check("with a result backend that never answers, a task's events are still stored",
          run_of(mute.id, "r.status || '|' || coalesce(c.result, '-')"), "succeeded|25", deadline=90)
    said = bridge_said("result backend 127.0.0.1")
    if "result backend 127.0.0.1" in said and "not read for" in said:
        say("ok   …and the bridge says the backend failed")
    else:
        failures.append("the bridge says the backend failed")
        say("FAIL the bridge says the backend failed (log: %r)" % said[-500:])
    stops_when_asked(bridge, "a silent backend")
    hole.close()

    # --- a broker that takes the subscription and then goes silent (stopped, or a network
    # path that drops without a reset): the bridge's PING goes unanswered, it says so and
    # reconnects, and it stops when asked.
    mute_broker = socket.socket()
    mute_broker.bind(("127.0.0.1", 0))
    mute_broker.listen(8)
    threading.Thread(target=serve_silently, args=(mute_broker,), daemon=True).start()
    log_at = os.path.getsize(os.path.join(TMP, "var", "log", "celery.log"))
    bridge = start_bridge(RUNWATCH_CELERY_BROKER="redis://127.0.0.1:%d/3" % mute_broker.getsockname()[1],
                          RUNWATCH_CELERY_BACKEND="none")
    said = bridge_said("no answer to PING")
    if "subscribed to" in said and "no answer to PING" in said:
        say("ok   a broker that goes silent is found out by its unanswered PING")
    else:
        failures.append("a silent broker is found out")
        say("FAIL a silent broker is found out (log: %r)" % said[-500:])
    end = time.monotonic() + 60
    again = False
    while not again and time.monotonic() < end:
        said = bridge_said("no answer to PING", deadline=1)
        again = "subscribed to" in said[said.find("no answer to PING"):]
        time.sleep(0.2)
    if again:
        say("ok   …and the bridge subscribes again")
    else:
        failures.append("the bridge subscribes again after a silent broker")
        say("FAIL the bridge did not subscribe again after a silent broker")
    stops_when_asked(bridge, "a silent broker")
    mute_broker.close()
    bridge = start_bridge()

    w3.send_signal(signal.SIGTERM)
    w3.wait(timeout=60)

    # --- w1 stops cleanly: worker-offline ends its session
    w1.send_signal(signal.SIGTERM)
    w1.wait(timeout=60)
    check("w1 stopped, its session ended 'stopped'", "SELECT w.status || '|' || s.end_reason FROM workers w JOIN worker_sessions s ON s.worker_id = w.id WHERE w.project_id = %s AND w.name = 'w1@rwtest' ORDER BY s.id DESC LIMIT 1" % P,
          "stopped|stopped")
    check("w1's heartbeats left samples with load and active", "SELECT (count(*) >= 1)::text FROM worker_samples s JOIN workers w ON w.id = s.worker_id WHERE w.name = 'w1@rwtest' AND s.sample ? 'loadavg' AND s.sample ? 'active'", "true")
    check("w1's Celery fields", "SELECT c.sw_ident || '|' || c.sw_ver || '|' || (c.processed > 0)::text FROM celery_workers c JOIN workers w ON w.id = c.worker_id WHERE w.name = 'w1@rwtest'",
          "py-celery|5.2.6|true")
    check("no run is left in flight", "SELECT count(*) FROM runs WHERE project_id = %s AND status IN ('running', 'retrying')" % P, "0")

    bridge.send_signal(signal.SIGTERM)
    bridge.wait(timeout=30)
    if failures:
        say("failed: " + "; ".join(failures))
        return 1
    say("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
