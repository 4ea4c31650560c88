"""The extra bytes' section container: round trips, reads the old bare gait bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.gait.serving import load_state
from consumer.gait.state_codec import MAGIC
from consumer.landmarks import FRAME_WIDTH
from consumer.windows.codec import (
    EXTRA_MAGIC,
    GAIT_SECTION,
    CorruptState,
    decode_state,
    encode_state,
    pack_extra,
    unpack_extra,
)
from consumer.windows.rules import WindowState

GAIT = MAGIC + b"\x01" * 60  # shaped like the gait stage's bytes (its magic first)


def test_old_values_with_bare_gait_bytes_read_as_the_gait_section() -> None:
    assert unpack_extra(GAIT) == {GAIT_SECTION: GAIT}
    assert unpack_extra(b"") == {}


def test_a_value_with_only_gait_is_still_written_bare() -> None:
    # What a consumer from before the container reads unchanged during a rolling upgrade.
    assert pack_extra({GAIT_SECTION: GAIT}) == GAIT
    assert pack_extra({GAIT_SECTION: GAIT, "epis": b""}) == GAIT
    assert pack_extra({}) == b""


def test_sections_round_trip_in_a_stable_order() -> None:
    sections = {"epis": b"\x01\x01{}", GAIT_SECTION: GAIT}
    packed = pack_extra(sections)
    assert packed.startswith(EXTRA_MAGIC)
    assert unpack_extra(packed) == sections
    assert pack_extra(dict(reversed(sections.items()))) == packed


def test_unknown_sections_survive_a_rewrite() -> None:
    packed = pack_extra({"zzzz": b"from a newer replica", GAIT_SECTION: GAIT})
    sections = unpack_extra(packed)
    sections[GAIT_SECTION] = MAGIC + b"\x02" * 60
    assert unpack_extra(pack_extra(sections))["zzzz"] == b"from a newer replica"


def test_the_container_rides_in_the_window_state() -> None:
    packed = pack_extra({"epis": b"\x01\x00{}", GAIT_SECTION: GAIT})
    window = WindowState(accepted=30, frames=np.arange(30, dtype=np.int64),
                         ts_ms=np.arange(30, dtype=np.int64) * 33,
                         values=np.zeros((30, FRAME_WIDTH), dtype=np.float32))
    stored = decode_state(encode_state(3, window, packed))
    assert unpack_extra(stored.extra)[GAIT_SECTION] == GAIT


def test_the_gait_stage_reads_its_section_from_the_container() -> None:
    # load_state gets bytes that are not a gait state either way: None, but no crash.
    assert load_state(pack_extra({"epis": b"x", GAIT_SECTION: MAGIC + b"short"})) is None
    assert load_state(EXTRA_MAGIC + b"\x00") is None


@pytest.mark.parametrize("bad", [
    EXTRA_MAGIC + b"gai",  # header cut short
    EXTRA_MAGIC + b"gait\x10\x00\x00\x00abc",  # payload cut short
    EXTRA_MAGIC + b"\xff\xfe\xfd\xfc\x00\x00\x00\x00",  # tag not ASCII
    EXTRA_MAGIC + b"gait\x00\x00\x00\x00" * 2,  # a section twice
])
def test_malformed_containers_are_refused(bad: bytes) -> None:
    with pytest.raises(CorruptState):
        unpack_extra(bad)


def test_tags_must_be_four_ascii_characters() -> None:
    with pytest.raises(ValueError, match="4 ASCII"):
        pack_extra({"episode": b"x", GAIT_SECTION: GAIT})


@given(st.dictionaries(st.sampled_from(["gait", "epis", "abcd", "wxyz"]),
                       st.binary(min_size=1, max_size=64), max_size=4))
def test_round_trip_property(sections: dict[str, bytes]) -> None:
    if set(sections) == {GAIT_SECTION} and sections[GAIT_SECTION].startswith(EXTRA_MAGIC):
        return  # bare gait bytes never start with the container's magic (they start BRG5)
    assert unpack_extra(pack_extra(sections)) == sections
