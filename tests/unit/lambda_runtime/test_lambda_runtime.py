"""Wiring built once per container, and the all-records retry response."""

import threading

from lambda_runtime import PerContainer, retry_every_record


def test_built_once_on_first_use_and_shared_by_threads() -> None:
    builds: list[int] = []

    def build() -> object:
        builds.append(1)
        return object()

    container = PerContainer(build)
    assert builds == []  # nothing at construction (import) time
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(container.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert all(value is seen[0] for value in seen)


def test_reset_builds_anew() -> None:
    container = PerContainer(object)
    first = container.get()
    container.reset()
    assert container.get() is not first


def test_every_record_is_kept_for_a_retry() -> None:
    assert retry_every_record([{"messageId": "a"}, {"messageId": "b"}]) == {
        "batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]
    }
