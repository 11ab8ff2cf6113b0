"""The garbage-collector pause around compiles and new masks restores the collector's state."""

from __future__ import annotations

import gc
import threading

import pytest

import constrain
from constrain.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_pause_nests_and_restores():
    with gc_paused:
        assert not gc.isenabled()
        with gc_paused:
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_pause_restores_after_an_exception():
    with pytest.raises(KeyError):
        with gc_paused:
            raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off():
    gc.disable()
    with gc_paused:
        pass
    assert not gc.isenabled()


def test_overlapping_blocks_in_threads_leave_the_collector_on():
    inside = threading.Barrier(4)
    seen: list[bool] = []

    def work():
        with gc_paused:
            inside.wait()  # all four blocks are open at once
            seen.append(gc.isenabled())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [False] * 4
    assert gc.isenabled()


def test_compiles_and_masks_leave_the_collector_on(smollm2_vocab):
    with pytest.raises(constrain.InvalidSchemaError):
        constrain.compile({"type": "json_schema", "json_schema": {"schema": {"type": "nope"}}}, smollm2_vocab, cache=False)
    assert gc.isenabled()
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}, smollm2_vocab, cache=False)
    assert gc.isenabled()
    m = compiled.matcher()
    assert m.accept_string('{"a": ')
    assert m.allowed_token_ids().size > 0
    assert gc.isenabled()
    gc.disable()
    constrain.compile({"type": "regex", "schema": "a+"}, smollm2_vocab, cache=False).matcher().allowed_token_ids()
    assert not gc.isenabled()
