"""The sink base's checked writes (outputs.sink.write_all) on files that write short or fail."""
from __future__ import annotations

import errno
import io

import pytest

from blazepose.errors import BlazePoseError, OutputWriteError
from blazepose.outputs.sink import Sink, write_all


class ShortFile(io.RawIOBase):
    """Writes at most ``step`` bytes a call; after ``budget`` bytes, nothing (returns 0) or ENOSPC."""

    def __init__(self, step: int, budget: int, fail: str = "zero"):
        self.data = bytearray()
        self.step, self.budget, self.fail, self.name = step, budget, fail, "/tmp/short.json"

    def writable(self):
        return True

    def write(self, b):
        room = self.budget - len(self.data)
        if room <= 0:
            if self.fail == "enospc":
                raise OSError(errno.ENOSPC, "No space left on device")
            return 0
        n = min(len(b), self.step, room)
        self.data += bytes(b[:n])
        return n


def test_short_writes_are_completed():
    f = ShortFile(step=3, budget=1000)
    write_all(f, b"0123456789" * 7)
    assert bytes(f.data) == b"0123456789" * 7


@pytest.mark.parametrize("fail", ["zero", "enospc"])
def test_a_write_that_stops_names_the_file(fail):
    f = ShortFile(step=4, budget=10, fail=fail)
    with pytest.raises(OutputWriteError) as info:
        write_all(f, b"x" * 25, "out/run.json")
    assert str(info.value).startswith("out/run.json: ")
    assert isinstance(info.value, BlazePoseError) and isinstance(info.value, OSError)
    assert len(f.data) == 10


def test_sink_closes_once_and_knows_if_complete():
    seen = []

    class Probe(Sink):
        def write(self, result, frame=None):
            pass

        def _finish(self, complete):
            seen.append(complete)

    with Probe() as s:
        s.write(None)
    s.close()
    with pytest.raises(RuntimeError), Probe():
        raise RuntimeError("boom")
    assert seen == [True, False]
