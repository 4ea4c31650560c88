"""The kcat relay rewrites only the tagged fields at the end of ApiVersions v3 answers."""

from __future__ import annotations

from tests.support.kafka_shim import strip_api_versions_tags

# error_code 0; one api (ApiVersions 0..3, no tags); throttle 0; then tansu's four top-level
# tagged fields as captured from the broker: SupportedFeatures [], FinalizedFeaturesEpoch -1,
# FinalizedFeatures [], ZkMigrationReady false.
HEAD = bytes.fromhex("0000" + "02" + "0012" "0000" "0003" "00" + "00000000")
TANSU_TAGS = bytes.fromhex("04" "000101" "0108ffffffffffffffff" "020101" "030100")


def test_top_level_tags_become_none_and_the_rest_is_kept() -> None:
    assert strip_api_versions_tags(HEAD + TANSU_TAGS) == HEAD + b"\x00"


def test_per_api_tags_are_skipped_not_cut() -> None:
    with_entry_tags = bytes.fromhex("0000" "02" "0012" "0000" "0003" "01" "0002abcd" "00000000")
    assert strip_api_versions_tags(with_entry_tags + TANSU_TAGS) == with_entry_tags + b"\x00"
