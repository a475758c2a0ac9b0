"""The virtual animal's skeleton: keypoint names, edges and a rest pose.

Body frame (millimetres): x forward (nose direction), y to the animal's left, z up,
origin on the floor below the back keypoint. A rat of about 150 mm nose to tail base.
"""

from __future__ import annotations

import numpy as np

KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_ear",
    "right_ear",
    "neck",
    "back",
    "left_hip",
    "right_hip",
    "tail_base",
    "left_forepaw",
    "right_forepaw",
    "left_hindpaw",
    "right_hindpaw",
)

# Pairs of keypoint names joined by a bone (for plots, NWB skeletons, bone-length checks).
EDGES: tuple[tuple[str, str], ...] = (
    ("nose", "left_ear"),
    ("nose", "right_ear"),
    ("left_ear", "neck"),
    ("right_ear", "neck"),
    ("neck", "back"),
    ("back", "left_hip"),
    ("back", "right_hip"),
    ("left_hip", "tail_base"),
    ("right_hip", "tail_base"),
    ("neck", "left_forepaw"),
    ("neck", "right_forepaw"),
    ("left_hip", "left_hindpaw"),
    ("right_hip", "right_hindpaw"),
)

# Rest pose in the body frame (mm), rows in KEYPOINTS order.
REST_POSE_MM: np.ndarray = np.array(
    [
        [80.0, 0.0, 30.0],  # nose
        [52.0, 13.0, 42.0],  # left_ear
        [52.0, -13.0, 42.0],  # right_ear
        [40.0, 0.0, 36.0],  # neck
        [0.0, 0.0, 42.0],  # back
        [-38.0, 17.0, 34.0],  # left_hip
        [-38.0, -17.0, 34.0],  # right_hip
        [-72.0, 0.0, 26.0],  # tail_base
        [38.0, 16.0, 0.0],  # left_forepaw
        [38.0, -16.0, 0.0],  # right_forepaw
        [-45.0, 20.0, 0.0],  # left_hindpaw
        [-45.0, -20.0, 0.0],  # right_hindpaw
    ]
)


def keypoint_index(name: str) -> int:
    """Index of a keypoint in KEYPOINTS, with a clear error for an unknown name."""
    try:
        return KEYPOINTS.index(name)
    except ValueError:
        raise KeyError(
            f"Unknown keypoint {name!r}; the virtual lab's keypoints are {list(KEYPOINTS)}."
        ) from None


def edge_indices() -> np.ndarray:
    """EDGES as an (E, 2) integer array of keypoint indices."""
    return np.array([[keypoint_index(a), keypoint_index(b)] for a, b in EDGES], dtype=np.int64)
