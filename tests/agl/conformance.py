#!/usr/bin/python3
"""Conformance of Runwatch's agent-lightning store to agent-lightning's LightningStore HTTP
API (its 0.3.0 client_server.py, types/core.py and tests/store/), one test per rule of the
contract (docs/AGENT_LIGHTNING.md). It sends what LightningStoreClient sends: JSON bodies with
every request-model key, nulls included, to <root>/v1/agl/..., where root is
/agl/<project token> (the path mount) or, for a few tests, /api with the token as bearer.

Run by tests/agl/run.sh against the integration stack (RUNWATCH_TEST_URL, the first admin's
RUNWATCH_ADMIN_EMAIL/PASSWORD, RUNWATCH_VAR_DIR). Python's standard library only: the
agent-lightning package itself cannot be installed here. Each test has a project of its own,
so the queues never mix. The watchdog tests poll with a generous deadline: nothing is
timed."""

import http.cookiejar
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid

URL = os.environ["RUNWATCH_TEST_URL"].rstrip("/")
VAR = os.environ.get("RUNWATCH_VAR_DIR", "")
DEADLINE_S = 60.0

_jar = http.cookiejar.CookieJar()
_admin = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(_jar))


def _raw(opener, method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with opener.open(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def _admin_call(method, path, body=None):
    return _raw(_admin, method, URL + "/api/v1" + path, body, {"X-Runwatch-CSRF": "1"})


_signed_in = False


def new_token(scopes=("read", "write")):
    """A new project and a token of it (the store is a project's)."""
    global _signed_in
    if not _signed_in:
        st, _ = _admin_call("POST", "/auth/login", {"email": os.environ["RUNWATCH_ADMIN_EMAIL"],
                                                    "password": os.environ["RUNWATCH_ADMIN_PASSWORD"]})
        assert st == 200, st
        _signed_in = True
    slug = "agl-" + uuid.uuid4().hex[:12]
    st, _ = _admin_call("POST", "/projects", {"slug": slug, "name": slug})
    assert st == 201, st
    st, tok = _admin_call("POST", f"/projects/{slug}/tokens", {"name": "agl", "scopes": list(scopes)})
    assert st == 201, (st, tok)
    return slug, tok["token"]


class Store:
    """What LightningStoreClient sends, by hand."""

    def __init__(self, token, bearer=False):
        self.token = token
        self.opener = urllib.request.build_opener()
        if bearer:
            self.root = URL + "/api/v1/agl"
            self.headers = {"Authorization": "Bearer " + token}
        else:
            self.root = URL + "/agl/" + token + "/v1/agl"
            self.headers = {}

    def call(self, method, path, body=None, query=""):
        return _raw(self.opener, method, self.root + path + query, body, self.headers)

    def ok(self, method, path, body=None, query="", status=None):
        st, out = self.call(method, path, body, query)
        want = status or (201 if (method, path) in {("POST", "/queues/rollouts/enqueue"),
                                                     ("POST", "/rollouts"), ("POST", "/resources"),
                                                     ("POST", "/spans")}
                          or (method == "POST" and path.endswith("/attempts")) else 200)
        assert st == want, f"{method} {path}: {st} {out}"
        return out

    # The client's calls (client_server.py), with its request models' every key.
    def enqueue(self, *inputs, config=None, metadata=None, mode=None, resources_id=None):
        return self.ok("POST", "/queues/rollouts/enqueue", {"rollouts": [
            {"input": i, "mode": mode, "resources_id": resources_id, "config": config,
             "metadata": metadata} for i in inputs]})

    def dequeue(self, limit=1, worker_id=None):
        return self.ok("POST", "/queues/rollouts/dequeue", {"limit": limit, "worker_id": worker_id})

    def start_rollout(self, inp, config=None, metadata=None, mode=None, resources_id=None,
                      worker_id=None):
        return self.ok("POST", "/rollouts", {"input": inp, "mode": mode, "resources_id": resources_id,
                                             "config": config, "metadata": metadata,
                                             "worker_id": worker_id})

    def get(self, rid):
        return self.ok("GET", "/rollouts/" + rid)

    def update_rollout(self, rid, **fields):
        return self.ok("POST", "/rollouts/" + rid, fields)

    def start_attempt(self, rid, worker_id=None):
        return self.ok("POST", f"/rollouts/{rid}/attempts", {"worker_id": worker_id})

    def update_attempt(self, rid, aid, **fields):
        return self.ok("POST", f"/rollouts/{rid}/attempts/{aid}", fields)

    def latest_attempt(self, rid):
        return self.ok("GET", f"/rollouts/{rid}/attempts/latest")

    def search(self, **q):
        body = {"status_in": None, "rollout_id_in": None, "rollout_id_contains": None, "limit": -1,
                "offset": 0, "filter_logic": "and"}
        body.update(q)
        return self.ok("POST", "/rollouts/search", body)

    def next_seq(self, rid, aid):
        return self.ok("POST", "/spans/next", {"rollout_id": rid, "attempt_id": aid})["sequence_id"]

    def add_span(self, rid, aid, seq, span_id=None, trace_id=None, name="step", **extra):
        span = {"rollout_id": rid, "attempt_id": aid, "sequence_id": seq,
                "trace_id": trace_id or uuid.uuid4().hex, "span_id": span_id or uuid.uuid4().hex[:16],
                "parent_id": None, "name": name,
                "status": {"status_code": "OK", "description": None},
                "attributes": {"k": "v", "n": 3, "f": 1.5, "b": True, "l": [1, "a"]},
                "events": [], "links": [], "start_time": time.time(), "end_time": time.time(),
                "context": None, "parent": None,
                "resource": {"attributes": {"service.name": "agent"}, "schema_url": ""}}
        span.update(extra)
        st, out = self.call("POST", "/spans", span)
        assert st == 201, (st, out)
        return out


def poll(fn, what):
    """fn() until it is true, within DEADLINE_S (the housekeeper runs every second)."""
    end = time.monotonic() + DEADLINE_S
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("never: " + what)
        time.sleep(0.2)


class AglTest(unittest.TestCase):
    def setUp(self):
        self.slug, self.token = new_token()
        self.s = Store(self.token)


class Mount(AglTest):
    def test_health_on_both_roots(self):
        self.assertEqual(self.s.ok("GET", "/health"), {"status": "ok"})
        self.assertEqual(Store(self.token, bearer=True).ok("GET", "/health"), {"status": "ok"})

    def test_bearer_root_is_the_same_store(self):
        r = self.s.enqueue({"x": 1})[0]
        self.assertEqual(Store(self.token, bearer=True).get(r["rollout_id"])["rollout_id"], r["rollout_id"])

    def test_no_unauthenticated_write(self):
        st, _ = _raw(urllib.request.build_opener(), "POST", URL + "/api/v1/agl/queues/rollouts/enqueue",
                     {"rollouts": [{"input": 1}]}, {"X-Runwatch-CSRF": "1"})
        self.assertEqual(st, 401)
        st, _ = Store("rw_not-a-token").call("POST", "/queues/rollouts/enqueue", {"rollouts": []})
        self.assertEqual(st, 401)

    def test_read_token_cannot_write(self):
        _, tok = new_token(("read",))
        st, _ = Store(tok).call("POST", "/queues/rollouts/enqueue", {"rollouts": []})
        self.assertEqual(st, 403)

    def test_only_the_store_under_the_token_root(self):
        st, _ = _raw(urllib.request.build_opener(), "GET", f"{URL}/agl/{self.token}/api/v1/runs")
        self.assertEqual(st, 404)

    def test_token_never_in_the_access_log(self):
        self.s.ok("GET", "/health")
        if not VAR:
            self.skipTest("RUNWATCH_VAR_DIR unset")
        log = os.path.join(VAR, "log", "nginx-access.log")
        poll(lambda: "/agl/[redacted]/v1/agl/health" in open(log).read(), "the redacted line is logged")
        for name in os.listdir(os.path.join(VAR, "log")):
            with open(os.path.join(VAR, "log", name), errors="replace") as f:
                self.assertNotIn(self.token, f.read(), name)


class Queue(AglTest):
    def test_enqueue_keeps_order_and_answers_201(self):
        out = self.s.enqueue("a", "b", "c")
        self.assertEqual([r["input"] for r in out], ["a", "b", "c"])
        self.assertTrue(all(r["status"] == "queuing" for r in out))
        self.assertEqual(self.s.ok("POST", "/queues/rollouts/enqueue", {"rollouts": []}, status=201), [])

    def test_enqueue_without_rollouts_is_422(self):
        st, out = self.s.call("POST", "/queues/rollouts/enqueue", {})
        self.assertEqual(st, 422)
        self.assertIn("detail", out)

    def test_dequeue_fifo_and_limit(self):
        ids = [r["rollout_id"] for r in self.s.enqueue(1, 2, 3)]
        got = self.s.dequeue(limit=2)
        self.assertEqual([r["rollout_id"] for r in got], ids[:2])
        self.assertEqual([r["rollout_id"] for r in self.s.dequeue(limit=5)], ids[2:])
        self.assertEqual(self.s.dequeue(), [])

    def test_dequeue_limit_zero_is_empty(self):
        self.s.enqueue(1)
        self.assertEqual(self.s.dequeue(limit=0), [])
        self.assertEqual(len(self.s.dequeue()), 1)

    def test_dequeue_makes_a_preparing_attempt_on_the_worker(self):
        self.s.enqueue(1)
        r = self.s.dequeue(worker_id="w-1")[0]
        self.assertEqual(r["status"], "preparing")
        a = r["attempt"]
        self.assertEqual((a["sequence_id"], a["status"], a["worker_id"]), (1, "preparing", "w-1"))
        self.assertEqual(a["rollout_id"], r["rollout_id"])

    def test_dequeue_skips_rollouts_not_queuing(self):
        a, b = self.s.enqueue(1, 2)
        self.s.update_rollout(a["rollout_id"], status="cancelled")
        self.assertEqual([r["rollout_id"] for r in self.s.dequeue(limit=5)], [b["rollout_id"]])

    def test_requeuing_goes_back_on_the_queue_as_a_new_attempt(self):
        r = self.s.enqueue(1)[0]
        self.s.dequeue()
        self.s.update_rollout(r["rollout_id"], status="requeuing")
        again = self.s.dequeue()[0]
        self.assertEqual((again["rollout_id"], again["attempt"]["sequence_id"]), (r["rollout_id"], 2))
        self.assertEqual(again["attempt"]["status"], "preparing")


class Rollouts(AglTest):
    def test_start_rollout(self):
        cfg = {"timeout_seconds": 30.0, "unresponsive_seconds": None, "max_attempts": 3,
               "retry_condition": ["failed", "timeout"]}
        r = self.s.start_rollout({"q": "x"}, config=cfg, metadata={"m": 1}, mode="val")
        self.assertEqual(r["status"], "preparing")
        self.assertEqual((r["attempt"]["sequence_id"], r["attempt"]["status"]), (1, "preparing"))
        self.assertEqual(r["config"], cfg)
        self.assertEqual((r["metadata"], r["mode"], r["input"]), ({"m": 1}, "val", {"q": "x"}))
        self.assertIsInstance(r["start_time"], float)

    def test_resources_id_inherits_the_latest(self):
        rs = self.s.ok("POST", "/resources", {"p": {"resource_type": "prompt_template",
                                                    "template": "hi {x}", "engine": "f-string"}})
        self.assertEqual(self.s.start_rollout(1)["resources_id"], rs["resources_id"])
        self.assertEqual(self.s.enqueue(1)[0]["resources_id"], rs["resources_id"])

    def test_get_missing_is_200_null(self):
        self.assertIsNone(self.s.get(str(uuid.uuid4())))
        self.assertIsNone(self.s.get("ro-123456789abc"))

    def test_get_carries_the_latest_attempt(self):
        r = self.s.enqueue(1)[0]
        self.assertNotIn("attempt", self.s.get(r["rollout_id"]))
        self.s.dequeue()
        self.s.start_attempt(r["rollout_id"])
        self.assertEqual(self.s.get(r["rollout_id"])["attempt"]["sequence_id"], 2)

    def test_start_attempt_ignores_max_attempts(self):
        r = self.s.start_rollout(1, config={"max_attempts": 1})
        for n in (2, 3):
            self.assertEqual(self.s.start_attempt(r["rollout_id"])["attempt"]["sequence_id"], n)

    def test_start_attempt_of_unknown_rollout_is_500_value_error(self):
        st, out = self.s.call("POST", f"/rollouts/{uuid.uuid4()}/attempts", {"worker_id": None})
        self.assertEqual(st, 500)
        self.assertEqual((out["detail"], out["error_type"]), ("Internal server error", "ValueError"))

    def test_update_only_keys_present(self):
        r = self.s.enqueue({"a": 1}, metadata={"m": 1}, mode="train")[0]
        out = self.s.update_rollout(r["rollout_id"], mode=None)
        self.assertEqual((out["mode"], out["metadata"], out["input"]), (None, {"m": 1}, {"a": 1}))
        out = self.s.update_rollout(r["rollout_id"], metadata=None, input=[1, 2])
        self.assertEqual((out["metadata"], out["input"], out["status"]), (None, [1, 2], "queuing"))

    def test_update_explicit_null_status_or_config_is_400(self):
        r = self.s.enqueue(1)[0]
        for key in ("status", "config"):
            st, out = self.s.call("POST", "/rollouts/" + r["rollout_id"], {key: None})
            self.assertEqual(st, 400, key)
            self.assertIn("detail", out)

    def test_update_missing_rollout_is_500(self):
        st, out = self.s.call("POST", f"/rollouts/{uuid.uuid4()}", {"status": "failed"})
        self.assertEqual((st, out["error_type"]), (500, "ValueError"))

    def test_cancelled_only_by_update_and_ends(self):
        r = self.s.enqueue(1)[0]
        out = self.s.update_rollout(r["rollout_id"], status="cancelled")
        self.assertEqual(out["status"], "cancelled")
        self.assertIsNotNone(out["end_time"])

    def test_wait_answers_only_the_finished(self):
        a, b = self.s.enqueue(1, 2)
        self.s.update_rollout(a["rollout_id"], status="succeeded")
        out = self.s.ok("POST", "/waits/rollouts",
                        {"rollout_ids": [a["rollout_id"], b["rollout_id"], str(uuid.uuid4())], "timeout": 0})
        self.assertEqual([r["rollout_id"] for r in out], [a["rollout_id"]])


class Propagation(AglTest):
    def _running(self, config):
        r = self.s.start_rollout(1, config=config, worker_id="w")
        return r["rollout_id"]

    def test_succeeded_latest_attempt_succeeds_the_rollout(self):
        rid = self._running(None)
        a = self.s.update_attempt(rid, "latest", status="succeeded")
        self.assertIsNotNone(a["end_time"])
        r = self.s.get(rid)
        self.assertEqual(r["status"], "succeeded")
        self.assertIsNotNone(r["end_time"])

    def test_failed_retries_while_in_retry_condition_and_attempts_remain(self):
        rid = self._running({"max_attempts": 2, "retry_condition": ["failed"]})
        self.s.update_attempt(rid, "1", status="failed")
        self.assertEqual(self.s.get(rid)["status"], "requeuing")
        self.assertEqual(self.s.dequeue()[0]["attempt"]["sequence_id"], 2)
        self.s.update_attempt(rid, "2", status="failed")
        self.assertEqual(self.s.get(rid)["status"], "failed")

    def test_failed_not_in_retry_condition_fails(self):
        rid = self._running({"max_attempts": 3, "retry_condition": ["timeout"]})
        self.s.update_attempt(rid, "latest", status="failed")
        self.assertEqual(self.s.get(rid)["status"], "failed")

    def test_only_the_latest_attempt_moves_the_rollout(self):
        rid = self._running(None)
        self.s.start_attempt(rid)
        self.s.update_attempt(rid, "1", status="failed")
        self.assertEqual(self.s.get(rid)["status"], "preparing")
        self.s.update_attempt(rid, "2", status="running")
        self.assertEqual(self.s.get(rid)["status"], "running")

    def test_timeout_and_unresponsive_have_no_end_time(self):
        rid = self._running({"max_attempts": 1})
        a = self.s.update_attempt(rid, "latest", status="timeout")
        self.assertEqual((a["status"], a["end_time"]), ("timeout", None))

    def test_attempt_update_explicit_nulls_are_400(self):
        rid = self._running(None)
        for key in ("status", "worker_id", "last_heartbeat_time", "metadata"):
            st, _ = self.s.call("POST", f"/rollouts/{rid}/attempts/latest", {key: None})
            self.assertEqual(st, 400, key)

    def test_attempt_update_fields(self):
        rid = self._running(None)
        a = self.s.update_attempt(rid, "latest", worker_id="w2", last_heartbeat_time=1700000000.5,
                                  metadata={"x": 1})
        self.assertEqual((a["worker_id"], a["last_heartbeat_time"], a["metadata"]),
                         ("w2", 1700000000.5, {"x": 1}))

    def test_unknown_attempt_is_500(self):
        rid = self._running(None)
        st, out = self.s.call("POST", f"/rollouts/{rid}/attempts/9", {"status": "failed"})
        self.assertEqual((st, out["error_type"]), (500, "ValueError"))

    def test_latest_attempt_null_when_none(self):
        r = self.s.enqueue(1)[0]
        self.assertIsNone(self.s.latest_attempt(r["rollout_id"]))
        self.assertIsNone(self.s.latest_attempt(str(uuid.uuid4())))


class Spans(AglTest):
    def _attempt(self):
        r = self.s.start_rollout(1, worker_id="w")
        return r["rollout_id"], r["attempt"]["attempt_id"]

    def test_first_span_runs_attempt_and_rollout(self):
        rid, aid = self._attempt()
        self.s.add_span(rid, aid, self.s.next_seq(rid, aid))
        self.assertEqual(self.s.get(rid)["status"], "running")
        a = self.s.latest_attempt(rid)
        self.assertEqual(a["status"], "running")
        self.assertIsNotNone(a["last_heartbeat_time"])

    def test_duplicate_span_is_null(self):
        rid, aid = self._attempt()
        span = self.s.add_span(rid, aid, 1)
        self.assertEqual(span["span_id"], span["span_id"])
        st, out = self.s.call("POST", "/spans", span)
        self.assertEqual((st, out), (201, None))

    def test_span_of_missing_rollout_or_attempt_is_500(self):
        rid, _ = self._attempt()
        for r, a in ((str(uuid.uuid4()), "1"), (rid, "7")):
            st, out = self.s.call("POST", "/spans", {"rollout_id": r, "attempt_id": a, "sequence_id": 1,
                                                     "trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "1",
                                                     "name": "x"})
            self.assertEqual(st, 500)

    def test_unresponsive_recovers_timeout_does_not(self):
        rid, aid = self._attempt()
        self.s.update_attempt(rid, aid, status="unresponsive")
        self.s.add_span(rid, aid, 1)
        self.assertEqual(self.s.latest_attempt(rid)["status"], "running")
        self.s.update_attempt(rid, aid, status="timeout")
        self.s.add_span(rid, aid, 2)
        self.assertEqual(self.s.latest_attempt(rid)["status"], "timeout")

    def test_sequence_ids(self):
        rid, aid = self._attempt()
        self.assertEqual(self.s.next_seq(rid, aid), 1)
        self.s.add_span(rid, aid, 2)
        self.assertEqual(self.s.next_seq(rid, aid), 3)
        self.assertEqual(self.s.next_seq(rid, aid), 4)
        self.assertEqual(self.s.next_seq(rid, "no-such-attempt"), 5)

    def test_span_round_trip_and_search(self):
        rid, aid = self._attempt()
        t = uuid.uuid4().hex
        self.s.add_span(rid, aid, 1, trace_id=t, name="llm.call")
        self.s.add_span(rid, aid, 2, name="tool")
        page = self.s.ok("POST", "/spans/search", {"rollout_id": rid, "attempt_id": None, "limit": -1,
                                                   "offset": 0, "filter_logic": "and"})
        self.assertEqual([x["sequence_id"] for x in page["items"]], [1, 2])
        sp = page["items"][0]
        self.assertEqual((sp["trace_id"], sp["name"], sp["attributes"]),
                         (t, "llm.call", {"k": "v", "n": 3, "f": 1.5, "b": True, "l": [1, "a"]}))
        self.assertEqual(sp["status"]["status_code"], "OK")
        self.assertEqual(sp["resource"]["attributes"], {"service.name": "agent"})
        one = self.s.ok("GET", "/spans", query=f"?rollout_id={rid}&name_contains=llm&attempt_id=latest")
        self.assertEqual([x["trace_id"] for x in one["items"]], [t])
        either = self.s.ok("POST", "/spans/search", {"rollout_id": rid, "trace_id": t, "name": "tool",
                                                     "filter_logic": "or"})
        self.assertEqual(either["total"], 2)

    def test_span_is_native_and_linked(self):
        rid, aid = self._attempt()
        self.s.add_span(rid, aid, 1)
        st, page = _raw(urllib.request.build_opener(), "GET", f"{URL}/api/v1/runs/{rid}/spans", None,
                        {"Authorization": "Bearer " + self.token})
        self.assertEqual(st, 200)
        self.assertEqual(len(page["items"]), 1)


class Paging(AglTest):
    def test_envelope_all_and_total(self):
        self.s.enqueue(1, 2, 3)
        p = self.s.search(limit=2)
        self.assertEqual((len(p["items"]), p["limit"], p["offset"], p["total"]), (2, 2, 0, 3))
        self.assertEqual(len(self.s.search(limit=-1)["items"]), 3)
        p = self.s.ok("GET", "/rollouts", query="?limit=-1&offset=1")
        self.assertEqual((len(p["items"]), p["total"]), (2, 3))

    def test_offset_past_the_end(self):
        self.s.enqueue(1)
        p = self.s.search(offset=5)
        self.assertEqual((p["items"], p["total"]), ([], 1))

    def test_bad_limit_offset_sort_by_are_400(self):
        for q in ({"limit": 0}, {"limit": -2}, {"offset": -1}, {"sort_by": "nonexistent_field"}):
            st, out = self.s.call("POST", "/rollouts/search", q)
            self.assertEqual(st, 400, q)
        self.assertTrue(out["detail"].startswith("Invalid sort_by: nonexistent_field, allowed fields are: "))

    def test_bad_sort_order_or_filter_logic_are_422(self):
        for q in ({"sort_by": "status", "sort_order": "up"}, {"filter_logic": "xor"}):
            st, _ = self.s.call("POST", "/rollouts/search", q)
            self.assertEqual(st, 422, q)

    def test_sort_and_none_placement(self):
        a = self.s.enqueue(1, mode="train")[0]["rollout_id"]
        b = self.s.enqueue(2)[0]["rollout_id"]
        asc = [r["rollout_id"] for r in self.s.search(sort_by="mode", sort_order="asc")["items"]]
        desc = [r["rollout_id"] for r in self.s.search(sort_by="mode", sort_order="desc")["items"]]
        self.assertEqual((asc, desc), ([b, a], [a, b]))
        st = [r["rollout_id"] for r in self.s.search(sort_by="start_time", sort_order="desc")["items"]]
        self.assertEqual(st, [b, a])

    def test_filters_and_or(self):
        r1, r2, r3 = [r["rollout_id"] for r in self.s.enqueue(1, 2, 3)]
        self.s.update_rollout(r1, status="succeeded")
        self.s.update_rollout(r2, status="failed")
        ids = lambda p: sorted(r["rollout_id"] for r in p["items"])
        self.assertEqual(ids(self.s.search(status_in=["succeeded", "failed"])), sorted([r1, r2]))
        self.assertEqual(ids(self.s.search(status_in=["succeeded"], rollout_id_in=[r1, r3])), [r1])
        self.assertEqual(ids(self.s.search(status_in=["succeeded"], rollout_id_in=[r3], filter_logic="or")),
                         sorted([r1, r3]))
        self.assertEqual(ids(self.s.search(rollout_id_contains=r2[4:12])), [r2])
        p = self.s.ok("GET", "/rollouts", query="?status_in=succeeded&status_in=failed")
        self.assertEqual(ids(p), sorted([r1, r2]))

    def test_items_carry_their_latest_attempt(self):
        self.s.enqueue(1, 2)
        self.s.dequeue()
        items = self.s.search()["items"]
        self.assertEqual(sorted("attempt" in r for r in items), [False, True])

    def test_attempts_list_and_search(self):
        rid = self.s.start_rollout(1)["rollout_id"]
        self.s.start_attempt(rid)
        p = self.s.ok("GET", f"/rollouts/{rid}/attempts")
        self.assertEqual([a["sequence_id"] for a in p["items"]], [1, 2])
        p = self.s.ok("POST", f"/rollouts/{rid}/attempts/search",
                      {"limit": 1, "offset": 0, "sort_by": "sequence_id", "sort_order": "desc"})
        self.assertEqual(([a["sequence_id"] for a in p["items"]], p["total"]), ([2], 2))


class Routing(AglTest):
    def test_search_and_latest_are_never_ids(self):
        self.s.enqueue(1)
        self.assertEqual(self.s.ok("POST", "/rollouts/search", {})["total"], 1)
        self.assertIsNone(self.s.ok("GET", "/rollouts/search"))
        self.assertIn("items", self.s.ok("POST", "/workers/search", {}))
        self.assertIsNone(self.s.ok("GET", "/resources/latest"))
        rid = self.s.start_rollout(1)["rollout_id"]
        self.assertIn("items", self.s.ok("POST", f"/rollouts/{rid}/attempts/search", {}))
        self.assertEqual(self.s.ok("GET", f"/rollouts/{rid}/attempts/latest")["sequence_id"], 1)


class Workers(AglTest):
    def test_worker_follows_its_attempt(self):
        self.s.enqueue(1)
        r = self.s.dequeue(worker_id="w-a")[0]
        w = self.s.ok("GET", "/workers/w-a")
        self.assertEqual((w["status"], w["current_rollout_id"], w["current_attempt_id"]),
                         ("busy", r["rollout_id"], "1"))
        self.assertIsNotNone(w["last_dequeue_time"])
        self.s.update_attempt(r["rollout_id"], "latest", status="succeeded")
        w = self.s.ok("GET", "/workers/w-a")
        self.assertEqual((w["status"], w["current_rollout_id"]), ("idle", None))
        self.assertIsNotNone(w["last_idle_time"])

    def test_missing_worker_is_null_and_heartbeat_upserts(self):
        self.assertIsNone(self.s.ok("GET", "/workers/nobody"))
        w = self.s.ok("POST", "/workers/w-b", {"heartbeat_stats": {"cpu": 0.5}})
        self.assertEqual((w["worker_id"], w["status"], w["heartbeat_stats"]), ("w-b", "unknown", {"cpu": 0.5}))
        self.assertIsNotNone(self.s.ok("POST", "/workers/w-b")["last_heartbeat_time"])
        st, _ = self.s.call("POST", "/workers/w-b", {"heartbeat_stats": None})
        self.assertEqual(st, 400)

    def test_worker_search(self):
        self.s.enqueue(1, 2)
        self.s.dequeue(worker_id="busy-1")
        self.s.dequeue(worker_id="busy-2")
        self.s.ok("POST", "/workers/idle-1", {})
        p = self.s.ok("POST", "/workers/search", {"status_in": ["busy"], "worker_id_contains": "busy",
                                                  "sort_by": "worker_id", "sort_order": "desc"})
        self.assertEqual([w["worker_id"] for w in p["items"]], ["busy-2", "busy-1"])


class Resources(AglTest):
    LLM = {"main": {"resource_type": "llm", "endpoint": "http://llm", "model": "m", "api_key": None,
                    "sampling_parameters": {}}}

    def test_add_update_latest(self):
        a = self.s.ok("POST", "/resources", self.LLM, status=201)
        self.assertTrue(a["resources_id"].startswith("rs-"))
        self.assertEqual((a["version"], a["resources"]), (1, self.LLM))
        b = self.s.ok("POST", "/resources", self.LLM, status=201)
        self.assertEqual(self.s.ok("GET", "/resources/latest")["resources_id"], b["resources_id"])
        a2 = self.s.ok("POST", "/resources/" + a["resources_id"], self.LLM)
        self.assertEqual((a2["version"], a2["create_time"]), (2, a["create_time"]))
        self.assertGreaterEqual(a2["update_time"], a["update_time"])
        self.assertEqual(self.s.ok("GET", "/resources/latest")["resources_id"], a["resources_id"])
        self.assertEqual(self.s.ok("GET", "/resources/" + b["resources_id"])["version"], 1)
        self.assertIsNone(self.s.ok("GET", "/resources/rs-missing"))
        p = self.s.ok("GET", "/resources", query="?sort_by=resources_id&sort_order=asc")
        self.assertEqual([x["resources_id"] for x in p["items"]], sorted([a["resources_id"], b["resources_id"]]))

    def test_upsert_of_a_new_id_is_version_1(self):
        self.assertEqual(self.s.ok("POST", "/resources/mine", self.LLM)["version"], 1)


class Statistics(AglTest):
    def test_statistics(self):
        rid = self.s.start_rollout(1, worker_id="w")["rollout_id"]
        self.s.add_span(rid, "1", 1)
        st = self.s.ok("GET", "/statistics")
        self.assertEqual((st["total_rollouts"], st["total_attempts"], st["total_spans"], st["total_workers"]),
                         (1, 1, 1, 1))
        self.assertIn("uptime", st)


class Watchdog(AglTest):
    def test_timeout_requeues(self):
        rid = self.s.start_rollout(1, worker_id="w", config={"timeout_seconds": 0.5, "max_attempts": 2,
                                                             "retry_condition": ["timeout"]})["rollout_id"]
        poll(lambda: self.s.get(rid)["status"] == "requeuing", "the rollout is requeued")
        self.assertEqual(self.s.latest_attempt(rid)["status"], "timeout")
        self.assertEqual(self.s.ok("GET", "/workers/w")["status"], "unknown")

    def test_unresponsive_fails_when_not_retried(self):
        rid = self.s.start_rollout(1, config={"unresponsive_seconds": 0.5, "max_attempts": 2,
                                              "retry_condition": ["timeout"]})["rollout_id"]
        poll(lambda: self.s.get(rid)["status"] == "failed", "the rollout fails")
        self.assertEqual(self.s.latest_attempt(rid)["status"], "unresponsive")


class NativePolicy(AglTest):
    """The same retry policy for native runs, per queue (PUT /api/v1/queues/{queue}/policy)."""

    def api(self, method, path, body=None):
        return _raw(urllib.request.build_opener(), method, URL + "/api/v1" + path, body,
                    {"Authorization": "Bearer " + self.token})

    def test_queue_policy_round_trip_and_checks(self):
        st, pol = self.api("GET", "/queues/q1/policy")
        self.assertEqual((st, pol["timeout_s"], pol["retry_on"]), (200, None, None))
        st, pol = self.api("PUT", "/queues/q1/policy", {"max_attempts": 3, "retry_on": ["timeout"],
                                                        "timeout_s": 30})
        self.assertEqual((st, pol["max_attempts"], pol["retry_on"], pol["timeout_s"]),
                         (200, 3, ["timeout"], 30))
        for bad in ({"max_attempts": 0}, {"retry_on": ["sometimes"]}, {"timeout_s": -1}):
            st, _ = self.api("PUT", "/queues/q1/policy", bad)
            self.assertEqual(st, 422, bad)

    def test_native_run_times_out_is_queued_again_then_fails(self):
        st, _ = self.api("PUT", "/queues/nq/policy", {"timeout_s": 0.5, "max_attempts": 2,
                                                      "retry_on": ["timeout"]})
        self.assertEqual(st, 200)
        st, run = self.api("POST", "/runs", {"kind": "train", "queue": "nq"})
        self.assertEqual(st, 201, run)
        rid = run["id"]
        st, worker = self.api("POST", "/workers", {"name": "native-w"})
        self.assertEqual(st, 201, worker)
        for attempt, final in ((1, "queued"), (2, "failed")):
            st, claimed = self.api("POST", "/queues/nq/claim", {"worker_id": worker["id"], "lease_s": 600})
            self.assertEqual((st, claimed["id"]), (200, rid))
            poll(lambda: self.api("GET", f"/runs/{rid}")[1]["status"] == final,
                 f"attempt {attempt} times out and the run is {final}")
            st, att = self.api("GET", f"/runs/{rid}/attempts")
            a = att["items"][attempt - 1]
            self.assertEqual((a["status"], a["error"]["type"] if a.get("error") else a.get("error_type")),
                             ("failed", "timeout"))


class OtlpHeartbeat(AglTest):
    def test_an_otlp_span_runs_the_attempt(self):
        r = self.s.start_rollout(1, worker_id="w")
        rid = r["rollout_id"]
        now = time.time_ns()
        body = {"resourceSpans": [{"resource": {"attributes": [
            {"key": "agentlightning.rollout_id", "value": {"stringValue": rid}},
            {"key": "agentlightning.attempt_id", "value": {"stringValue": "1"}}]},
            "scopeSpans": [{"spans": [{"traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16],
                                       "name": "llm", "startTimeUnixNano": str(now),
                                       "endTimeUnixNano": str(now + 1000)}]}]}]}
        st, _ = _raw(urllib.request.build_opener(), "POST", f"{URL}/agl/{self.token}/v1/traces", body)
        self.assertEqual(st, 200)
        poll(lambda: self.s.get(rid)["status"] == "running", "the OTLP span runs the rollout")
        a = self.s.latest_attempt(rid)
        self.assertEqual(a["status"], "running")
        self.assertIsNotNone(a["last_heartbeat_time"])


class Native(AglTest):
    def test_a_rollout_is_a_run(self):
        rid = self.s.start_rollout({"task": 1}, worker_id="w")["rollout_id"]
        st, run = _raw(urllib.request.build_opener(), "GET", f"{URL}/api/v1/runs/{rid}", None,
                       {"Authorization": "Bearer " + self.token})
        self.assertEqual(st, 200)
        self.assertEqual((run["kind"], run["status"], run["queue"]), ("rollout", "running", "rollouts"))
        self.assertEqual(run["latest_attempt"]["seq"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2, argv=[sys.argv[0]] + sys.argv[1:])
