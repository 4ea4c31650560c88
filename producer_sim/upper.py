"""Trunk, head and arms on top of the pelvis (runner frame: X forward, Y up, Z right).

The thorax leans forward by the trunk lean (a little more at mid-stance), bends towards a
stance side when limping, and turns opposite to the pelvis, which is what swings the arms:
each arm swings opposite to its leg (left arm back at the left contact), the elbow opening at
the back of the swing and closing at the front. The head stays nearly level (runners keep
their gaze steady), so the neck takes up part of the trunk lean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from producer_sim.body import FACE_OFFSETS_M, Body
from producer_sim.gait import Series
from producer_sim.pelvis import SIDE_Z, Progress

UP = np.array([0.0, 1.0, 0.0])


def rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) right-handed rotations about X (0), Y (1) or Z (2)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == 1:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def apply(matrices: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate (T, 3) or constant (3,) vectors by (T, 3, 3) matrices."""
    if vectors.ndim == 1:
        return matrices @ vectors
    return np.einsum("tij,tj->ti", matrices, vectors)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@dataclass(frozen=True)
class Upper:
    shoulder: np.ndarray  # (T, 2, 3) left, right
    elbow: np.ndarray
    wrist: np.ndarray
    pinky: np.ndarray
    index: np.ndarray
    thumb: np.ndarray
    face: dict[str, np.ndarray]  # landmark name -> (T, 3)
    trunk_lean: np.ndarray  # (T,) rad, the thorax's forward lean as built
    elbow_flex: np.ndarray  # (T, 2) rad


def upper_body(
    centre: np.ndarray, q: np.ndarray, prog: Progress, series: Series, body: Body
) -> Upper:
    """Trunk, head and arms for the pelvis centre ``centre`` (T, 3) at stride phases ``q``."""
    bump = prog.bump
    lean = np.radians(series["trunk_lean_deg"] + series["trunk_bob_deg"] * bump.sum(axis=1))
    side_lean = np.radians((series["trunk_side_lean_deg"] * bump * SIDE_Z).sum(axis=1))
    swing = np.cos(2 * np.pi * (q - series["arm_lag"]))  # +1: right arm forward, left back
    thorax_yaw = np.radians(series["thorax_yaw_deg"]) * swing
    thorax = (
        rotation(1, thorax_yaw) @ rotation(0, side_lean) @ rotation(2, -lean)
    )
    protraction = series["shoulder_protraction_m"]
    mid = (
        centre + body.trunk_m * apply(thorax, UP)
        + apply(thorax, np.column_stack([protraction, 0 * protraction, 0 * protraction]))
    )
    half = np.array([0.0, 0.0, body.shoulder_width_m / 2])
    shoulders = np.stack([mid - apply(thorax, half), mid + apply(thorax, half)], axis=1)

    neck_tilt = np.radians(series["neck_forward_deg"]) + 0.4 * lean
    head_turn = rotation(1, 0.3 * thorax_yaw)
    neck = apply(head_turn @ rotation(0, 0.5 * side_lean) @ rotation(2, -neck_tilt), UP)
    ears = mid + body.neck_m * neck
    head = head_turn @ rotation(2, -np.radians(series["head_pitch_deg"]))
    face = {
        name: ears + apply(head, np.asarray(offset) * body.head_scale)
        for name, offset in FACE_OFFSETS_M.items()
    }

    arms = [_arm(thorax, shoulders[:, leg], SIDE_Z[leg] * swing, series, body, leg)
            for leg in (0, 1)]
    joints = {k: np.stack([arm[k] for arm in arms], axis=1) for k in arms[0]}
    return Upper(shoulder=shoulders, face=face, trunk_lean=lean, **joints)


def _arm(
    thorax: np.ndarray, shoulder: np.ndarray, forwardness: np.ndarray, series: Series,
    body: Body, leg: int,
) -> dict[str, np.ndarray]:
    """One arm; ``forwardness`` is +1 at the front of its swing and -1 at the back."""
    outward = SIDE_Z[leg]
    flex = np.radians(series["shoulder_flex_deg"] + series["shoulder_swing_deg"] * forwardness)
    abduction = np.radians(series["arm_abduction_deg"])
    elbow_flex = np.radians(series["elbow_flex_deg"] + series["elbow_swing_deg"] * forwardness)
    medial = np.radians(series["forearm_medial_deg"])
    # Upper arm in the thorax frame: hanging, flexed forwards, then abducted outwards.
    upper = np.column_stack([
        np.sin(flex) * np.cos(abduction), -np.cos(flex) * np.cos(abduction),
        outward * np.sin(abduction),
    ])
    ahead = _unit(np.array([1.0, 0.0, 0.0]) - upper[:, :1] * upper)
    inward = np.array([0.0, 0.0, -outward])
    inward = inward - (upper @ inward)[:, None] * upper - (ahead @ inward)[:, None] * ahead
    inward = _unit(inward)
    bend = np.cos(medial)[:, None] * ahead + np.sin(medial)[:, None] * inward
    fore = np.cos(elbow_flex)[:, None] * upper + np.sin(elbow_flex)[:, None] * bend
    upper_w, fore_w = apply(thorax, upper), apply(thorax, fore)
    elbow = shoulder + body.upper_arm_m * upper_w
    wrist = elbow + body.forearm_m * fore_w
    # A loose fist, palm facing the body, thumb on top.
    thumb_side = _unit(np.cross(np.array([0.0, 0.0, 1.0]), fore_w))
    hand = body.hand_m
    return {
        "elbow": elbow,
        "wrist": wrist,
        "index": wrist + hand * (0.45 * fore_w + 0.05 * thumb_side),
        "pinky": wrist + hand * (0.38 * fore_w - 0.12 * thumb_side),
        "thumb": wrist + hand * (0.30 * fore_w + 0.20 * thumb_side),
        "elbow_flex": elbow_flex,
    }
