"""Body proportions and signal constants the gait metrics rest on, each with its source.

Ratios of standing height H (Drillis & Contini, in Winter, *Biomechanics and Motor Control of
Human Movement*, fig. 4.1): thigh 0.245 H, shank 0.246 H, ankle height 0.039 H, hip joint at
0.530 H, shoulder joint at 0.818 H. MediaPipe's hip landmarks sit near the hip joints, about
0.12 H apart; its shoulder landmarks about 0.20 H apart (issue 11 calibrates both on real
tracker output). Between people each ratio varies by a few percent, which bounds the error
of every metric that leans on one of them.
"""

from __future__ import annotations

# Standing hip-joint height ("leg length", what running metrics are normalised by) over the
# thigh + shank length: (0.245 + 0.246 + 0.039) / (0.245 + 0.246).
LEG_OVER_THIGH_SHANK = 0.530 / 0.491
# Hip joint to shoulder joint height, as a share of leg length.
TRUNK_OVER_LEG = (0.818 - 0.530) / 0.530
# Hip landmark separation, as a share of the trunk length and of the leg length.
HIP_WIDTH_OVER_TRUNK = 0.120 / (0.818 - 0.530)
HIP_WIDTH_OVER_LEG = 0.120 / 0.530
SHOULDER_WIDTH_OVER_LEG = 0.200 / 0.530
FOREARM_OVER_LEG = 0.146 / 0.530

FPS = 30.0  # the contract's frame rate; frame numbers, when given, take precedence

# Public tools drop keypoints below a visibility of about 0.3-0.5 (running-form.md): below
# VISIBILITY_FLOOR a landmark adds nothing, from VISIBILITY_FULL on it counts fully.
VISIBILITY_FLOOR = 0.3
VISIBILITY_FULL = 0.8
