"""Against a running Longhaul (LONGHAUL_URL; `test/clients/python.test.ts` starts one with SSE_MAX_SECONDS=1)."""

import os
import socket
import time
import unittest
import uuid

from longhaul import Client, ConnectionFailed, LonghaulError

URL = os.environ.get("LONGHAUL_URL", "http://localhost:7071")


def wait_finished(client, task_id, timeout=30.0, statuses=("succeeded", "failed", "cancelled")):
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(task_id)
        if task["status"] in statuses:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {task['status']}")
        time.sleep(0.05)


def history(client, task_id):
    return [e for e in client.events(task_id, limit=1000)["items"]]


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL, key=os.environ.get("LONGHAUL_KEY"), timeout=10)

    def test_submits_reads_lists_counts_and_fetches_input_steps_and_result(self):
        key = f"py-{uuid.uuid4()}"
        task = self.client.submit("simulate", {"steps": 2, "stepMs": 0}, idempotency_key=key)
        self.assertEqual(task["status"], "queued")
        self.assertEqual(self.client.submit("simulate", {"steps": 2, "stepMs": 0}, idempotency_key=key)["id"], task["id"])
        done = wait_finished(self.client, task["id"])
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(self.client.result(task["id"])["totalExecutions"], 2)
        self.assertEqual(self.client.input(task["id"])["steps"], 2)
        steps = self.client.steps(task["id"])
        self.assertEqual([(s["name"], s["status"]) for s in steps], [("step-0", "succeeded"), ("step-1", "succeeded")])
        page = self.client.list(id_prefix=task["id"][:8], status="succeeded")
        self.assertEqual([t["id"] for t in page["items"]], [task["id"]])
        counts = self.client.counts(id_prefix=task["id"][:13])
        self.assertEqual((counts["total"], counts["byStatus"]["succeeded"]), (1, 1))
        self.assertIn("simulate", [t["type"] for t in self.client.task_types()])

    def test_retries_reruns_cancels_and_acts_in_bulk(self):
        failing = self.client.submit("simulate", {"steps": 1, "stepMs": 0, "failAtStep": 0, "failMode": "permanent"})
        failed = wait_finished(self.client, failing["id"])
        self.assertEqual((failed["status"], failed["error"]["step"]), ("failed", "step-0"))
        self.assertEqual(self.client.retry(failing["id"])["status"], "queued")
        wait_finished(self.client, failing["id"])
        copy = self.client.rerun(failing["id"])
        self.assertEqual(copy["rerunOf"], failing["id"])
        wait_finished(self.client, copy["id"])
        hanging = self.client.submit("simulate", {"steps": 1, "stepMs": 0, "hangAtStep": 0})
        bulk = self.client.bulk("cancel", {"idPrefix": hanging["id"]})
        self.assertEqual(bulk["affected"], [hanging["id"]])
        self.assertEqual(wait_finished(self.client, hanging["id"])["status"], "cancelled")
        with self.assertRaises(LonghaulError) as caught:
            self.client.cancel(hanging["id"])
        self.assertEqual(caught.exception.status, 409)

    def test_signals_a_waiting_task_and_a_repeat_is_answered_not_refused(self):
        task = self.client.submit("simulate", {"steps": 2, "stepMs": 0, "waitAtStep": 1})
        waiting = wait_finished(self.client, task["id"], statuses=("waiting",))
        self.assertEqual(waiting["waiting"], {"kind": "signal", "name": "continue", "until": None})
        kept = self.client.signal(task["id"], "continue", {"note": "from python"}, idempotency_key="py-signal")
        self.assertEqual((kept["duplicate"], kept["payload"]), (False, {"note": "from python"}))
        again = self.client.signal(task["id"], "continue", {"note": "other"}, idempotency_key="py-signal")
        self.assertTrue(again["duplicate"])
        self.assertEqual(wait_finished(self.client, task["id"])["status"], "succeeded")
        self.assertEqual(self.client.result(task["id"])["note"], "from python")

    def test_watch_yields_every_persisted_event_once_in_order_across_server_closed_streams(self):
        task = self.client.submit("simulate", {"steps": 6, "stepMs": 200})
        dropped = []
        items = list(self.client.watch(task["id"], retry_seconds=0.1, on_connection_error=dropped.append))
        self.assertEqual(items[0]["kind"], "snapshot")
        self.assertEqual(items[-1], {"kind": "end", "status": "succeeded"})
        snapshots = [i for i in items if i["kind"] == "snapshot"]
        self.assertGreater(len(snapshots), 1, "the server closed the stream (SSE_MAX_SECONDS) and it reconnected")
        seen = [i["event"]["seq"] for i in items if i["kind"] == "event"]
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(len(seen), len(set(seen)), "no event twice")
        persisted = [e["seq"] for e in history(self.client, task["id"]) if e["seq"] > items[0]["seq"]]
        self.assertEqual([s for s in persisted if s not in seen], [], "every persisted event after the snapshot")

    def test_watch_resumes_after_a_last_event_id(self):
        task = self.client.submit("simulate", {"steps": 3, "stepMs": 0})
        wait_finished(self.client, task["id"])
        events = history(self.client, task["id"])
        middle = events[len(events) // 2]["seq"]
        items = list(self.client.watch(task["id"], last_event_id=str(middle)))
        replayed = [i["event"]["seq"] for i in items if i["kind"] == "event"]
        self.assertEqual(replayed, [e["seq"] for e in events if e["seq"] > middle])
        self.assertEqual(items[-1]["status"], "succeeded")

    def test_problems_raise_with_status_field_and_errors(self):
        with self.assertRaises(LonghaulError) as caught:
            self.client.submit("simulate", {"steps": 0})
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual(caught.exception.errors[0]["path"], "input.steps")
        with self.assertRaises(LonghaulError) as missing:
            self.client.get(str(uuid.uuid4()))
        self.assertEqual((missing.exception.status, missing.exception.field), (404, "id"))
        with self.assertRaises(LonghaulError) as bad:
            self.client.list(id_prefix="xyz")
        self.assertEqual((bad.exception.status, bad.exception.field), (400, "idPrefix"))

    def test_an_unreachable_server_raises_connection_failed_naming_it(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with self.assertRaises(ConnectionFailed) as caught:
            Client(f"http://127.0.0.1:{port}", timeout=2).health()
        self.assertIn(f"cannot reach http://127.0.0.1:{port}", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
