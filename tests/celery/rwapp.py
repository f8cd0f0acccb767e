"""The Celery app the celery suite runs a real worker of (tests/celery/run.sh): plain
tasks, a failure, an autoretry that succeeds on its third try, a long task to revoke or
kill, a task that runs until the test releases it, and a task that spawns a child. Broker and result backend are the test stack's
Redis (RWCELERY_BROKER); the result backend is what the bridge reads group ids from."""
import os
import time

from celery import Celery

broker = os.environ.get("RWCELERY_BROKER", "redis://127.0.0.1:6379/0")
app = Celery("rwapp", broker=broker, backend=broker)
app.conf.update(
    task_send_sent_event=os.environ.get("RWCELERY_SENT_EVENT") == "1",
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    # A worker started with RWCELERY_RESULT_EXTENDED=1 stores name, args, kwargs, worker and
    # queue in the result meta: what the bridge's backend scan names a discovered task by.
    result_extended=os.environ.get("RWCELERY_RESULT_EXTENDED") == "1",
)


@app.task
def add(x, y):
    return x + y


@app.task
def mul(x, y):
    return x * y


@app.task
def tsum(values):
    return sum(values)


@app.task
def boom(msg):
    raise ValueError(msg)


@app.task(bind=True, autoretry_for=(KeyError,), retry_backoff=False, default_retry_delay=0,
          max_retries=5)
def flaky(self, marker):
    # Fails twice, then succeeds: its retries count comes in the request.
    if self.request.retries < 2:
        raise KeyError(marker)
    return "ok after %d retries" % self.request.retries


@app.task
def sleepy(seconds):
    time.sleep(seconds)
    return seconds


@app.task
def until_file(path, cap_s):
    # Runs until the test creates path (so it ends when the test says, not after a time the
    # test must outpace); past cap_s it fails, so a release that never comes shows.
    end = time.monotonic() + cap_s
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise TimeoutError("never released: " + path)
        time.sleep(0.05)
    return "released"


@app.task
def spawn(x):
    # A dynamically spawned child: its parent_id is this task.
    child = add.delay(x, 100)
    return child.id
