"""run.artifact and run.table against the real stack: artifacts by URI, small files
uploaded with their sha256 (checked by the server: a wrong one stores nothing), the same
upload again, bad input refused before anything is sent, tables replaced and appended."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unittest
import urllib.request

import rwtest
import runwatch


class Artifacts(unittest.TestCase):
    def test_uri_and_upload(self) -> None:
        c = rwtest.client()
        with runwatch.start(kind="train", name=rwtest.unique("art")) as run:
            a = run.artifact("ckpt-100", kind="checkpoint", uri="s3://b/ckpt-100", step=100,
                             metadata={"loss": 0.25})
            self.assertEqual((a["kind"], a["step"], a["stored"]), ("checkpoint", 100, False))
            # The same registration again is harmless; another URI under the name is refused.
            self.assertEqual(run.artifact("ckpt-100", kind="checkpoint", uri="s3://b/ckpt-100",
                                          step=100, metadata={"loss": 0.25})["id"], a["id"])
            with self.assertRaises(runwatch.APIError) as e:
                run.artifact("ckpt-100", kind="checkpoint", uri="s3://elsewhere")
            self.assertEqual((e.exception.status, e.exception.field), (409, "name"))

            content = b"epoch,acc\n1,0.5\n2,0.75\n" * 100
            with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
                f.write(content)
            try:
                up = run.artifact("acc.csv", kind="table", path=f.name, step=2)
            finally:
                os.unlink(f.name)
            self.assertEqual(up["sha256"], hashlib.sha256(content).hexdigest())
            self.assertEqual((up["size"], up["stored"]), (len(content), True))
            # The same content again answers the stored artifact.
            self.assertEqual(run.artifact("acc.csv", kind="table", data=content)["id"], up["id"])
            # A wrong sha256: the server says so, naming the field, and stores nothing.
            with self.assertRaises(runwatch.APIError) as e:
                run.artifact("bad.bin", data=b"abc", sha256="0" * 64)
            self.assertEqual((e.exception.status, e.exception.field), (400, "sha256"))
            names = [x["name"] for x in c.get(f"/runs/{run.id}/artifacts")["items"]]
            self.assertEqual(sorted(names), ["acc.csv", "ckpt-100"])
            # The download is the bytes uploaded.
            req = urllib.request.Request(os.environ["RUNWATCH_URL"].rstrip("/") + up["download"],
                                         headers={"Authorization": "Bearer " + os.environ["RUNWATCH_TOKEN"]})
            with urllib.request.urlopen(req, timeout=rwtest.DEADLINE_S) as r:
                self.assertEqual(r.read(), content)
                self.assertEqual(r.headers["ETag"], '"%s"' % up["sha256"])

    def test_bad_input_is_refused_before_sending(self) -> None:
        with runwatch.start(kind="train", name=rwtest.unique("art")) as run:
            with self.assertRaises(ValueError):
                run.artifact("x", kind="weights", uri="s3://x")
            with self.assertRaises(ValueError):
                run.artifact("x", uri="s3://x", data=b"1")
            with self.assertRaises(ValueError):
                run.artifact("x")
            with self.assertRaises(runwatch.APIError) as e:
                run.artifact("x", uri="s3://x", sha256="nothex")
            self.assertEqual(e.exception.field, "sha256")


class Tables(unittest.TestCase):
    def test_replace_and_append(self) -> None:
        c = rwtest.client()
        cols = ["model", "score_val", "fit_time"]
        with runwatch.start(kind="automl", name=rwtest.unique("tab")) as run:
            self.assertEqual(run.table("leaderboard", cols, [["LightGBM", 0.91, 12.5],
                                                             ["XGBoost", 0.89, 3]]), 2)
            self.assertEqual(run.table("leaderboard", cols, [("CatBoost", 0.5, None)],
                                       mode="append"), 3)
            t = c.get(f"/runs/{run.id}/tables/leaderboard")
            self.assertEqual(t["columns"], cols)
            self.assertEqual([r[0] for r in t["rows"]], ["LightGBM", "XGBoost", "CatBoost"])
            # Append with other columns is the server's 409; replace takes new columns.
            with self.assertRaises(runwatch.APIError) as e:
                run.table("leaderboard", ["a"], [[1]], mode="append")
            self.assertEqual((e.exception.status, e.exception.field), (409, "columns"))
            self.assertEqual(run.table("leaderboard", ["a"], [[1]]), 1)
            with self.assertRaises(ValueError):
                run.table("leaderboard", ["a", "b"], [[1]])
            with self.assertRaises(ValueError):
                run.table("leaderboard", ["a"], [[1]], mode="merge")


if __name__ == "__main__":
    unittest.main()
