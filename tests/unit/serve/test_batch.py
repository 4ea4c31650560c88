"""Decoding a poll batch: grouping, order, rejects and offsets."""

from __future__ import annotations

import numpy as np

from consumer.frames import RejectReason
from consumer.serve import batch as batch_module
from consumer.serve.batch import decode_batch


def test_frames_are_grouped_by_user_and_session_in_arrival_order(kit, records) -> None:
    recs = [
        records.frame("a", 1, partition=0),
        records.frame("b", 7, partition=1),
        records.frame("a", 2, partition=0, session="s2"),
        records.frame("a", 3, partition=0),
        records.frame("b", 5, partition=1),  # older: kept in order, the rules ignore it
    ]
    decoded = decode_batch(recs, kit.NOW_MS)
    assert [g.key for g in decoded.groups] == [("a", "s1"), ("b", "s1"), ("a", "s2")]
    assert [g.frames.tolist() for g in decoded.groups] == [[1, 3], [7, 5], [2]]
    assert decoded.groups[0].values.shape == (2, 132)
    assert decoded.groups[0].values.dtype == np.float32
    assert decoded.frames == 5 and decoded.records == 5 and not decoded.rejected


def test_bad_records_are_rejected_and_good_ones_kept(kit, records) -> None:
    recs = [
        records.frame("a", 1),
        records(b"{not json", b"a"),
        records.frame("a", 2, x=7.0),  # out of range: caught by the vectorised check
        records.frame("a", 3),
        records(kit.frame_value("a", 4), b"b"),  # key mismatch
    ]
    decoded = decode_batch(recs, kit.NOW_MS)
    assert [g.frames.tolist() for g in decoded.groups] == [[1, 3]]
    assert {(r.record.offset, r.reason) for r in decoded.rejected} == {
        (1, "invalid_json"), (2, "out_of_range"), (4, "key_mismatch"),
    }
    assert decoded.rejected_by_reason() == {"invalid_json": 1, "out_of_range": 1,
                                            "key_mismatch": 1}
    np.testing.assert_allclose(decoded.groups[0].values[:, 0], [0.4, 0.4])


def test_offsets_cover_every_record_including_rejected_ones(kit, records) -> None:
    recs = [records.frame("a", 1, partition=0), records(b"x", b"a", partition=0),
            records.frame("b", 1, partition=2)]
    decoded = decode_batch(recs, kit.NOW_MS)
    assert decoded.first_offsets == {("pose.frames", 0): 0, ("pose.frames", 2): 0}
    assert decoded.next_offsets == {("pose.frames", 0): 2, ("pose.frames", 2): 1}


def test_a_decoder_bug_dead_letters_the_record(kit, records, monkeypatch) -> None:
    real = batch_module.parse_frame

    def flaky(value, key, out, now_ms, limits):
        if key == b"boom":
            raise KeyError("bug")
        return real(value, key, out, now_ms, limits)

    monkeypatch.setattr(batch_module, "parse_frame", flaky)
    decoded = decode_batch([records(b"{}", b"boom"), records.frame("a", 1)], kit.NOW_MS)
    assert [r.reason for r in decoded.rejected] == [RejectReason.DECODER_ERROR.value]
    assert decoded.frames == 1


def test_empty_batch(kit) -> None:
    decoded = decode_batch([], kit.NOW_MS)
    assert decoded.groups == [] and decoded.rejected == [] and decoded.records == 0
