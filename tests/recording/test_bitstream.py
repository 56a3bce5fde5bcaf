from __future__ import annotations

import pytest

from recording.bitstream import h264_keyframe_size, vp8_keyframe_size
from tests.recording.media import h264_frames, vp8_frames


def test_vp8_keyframe_gives_its_picture_size() -> None:
    frames = vp8_frames(90)
    assert vp8_keyframe_size(frames[0].data) == (320, 240)
    assert all(vp8_keyframe_size(f.data) is None for f in frames if not f.keyframe)


@pytest.mark.parametrize("size", [(320, 240), (640, 360), (1920, 1080)])
def test_h264_keyframe_gives_its_cropped_picture_size(size: tuple[int, int]) -> None:
    frames = h264_frames(3, *size)
    assert h264_keyframe_size(frames[0].data) == size
    assert h264_keyframe_size(frames[1].data) is None


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\x00\x00\x01", b"\x00\x00\x01\x67", bytes(64)])
def test_truncated_or_garbage_payloads_are_not_keyframes(payload: bytes) -> None:
    assert vp8_keyframe_size(payload) is None
    assert h264_keyframe_size(payload) is None
