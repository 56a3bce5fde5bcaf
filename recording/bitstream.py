"""Tiny, allocation-free peeks into encoded frames: is it a keyframe, and how big is it.

The recorder never decodes media; it only needs the picture size for the container
header, which VP8 keyframes and H.264 sequence parameter sets carry in clear.
"""

from __future__ import annotations


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether an encoded frame can be decoded on its own: the one rule the relay (for
    keyframe requests and counters) and the recorder (where a segment may start) share.
    VP8: the frame tag's key bit; H.264: an IDR slice before any other slice; audio:
    always."""
    if codec == "vp8":
        return len(data) > 0 and (data[0] & 0x01) == 0
    if codec == "h264":
        return h264_idr_info(data)[0]
    return True


def vp8_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` if ``frame`` is a VP8 keyframe, else ``None`` (RFC 6386 9.1)."""
    if len(frame) < 10 or frame[0] & 0x01:  # bit 0 of the frame tag: 0 = keyframe
        return None
    if frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    if width == 0 or height == 0:
        return None
    return width, height


def h264_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` if the Annex B access unit ``frame`` can start a
    stream (it carries an SPS before an IDR slice), else ``None``."""
    is_idr, size = h264_idr_info(frame)
    return size if is_idr else None


def h264_idr_info(frame: bytes) -> tuple[bool, tuple[int, int] | None]:
    """``(is IDR, picture size from an in-band SPS or None)`` of an Annex B access unit.

    Only the NAL unit headers before the first slice are looked at, so the cost does
    not grow with the picture.
    """
    size: tuple[int, int] | None = None
    start = frame.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(frame):
        start += 3
        following = frame.find(b"\x00\x00\x01", start)
        nal_type = frame[start] & 0x1F
        if nal_type == 7 and size is None:
            end = len(frame) if following == -1 else following
            size = _sps_size(frame[start:end].rstrip(b"\x00"))
        elif nal_type == 5:
            return True, size
        elif nal_type == 1:
            return False, None
        start = following
    return False, None


class _BitReader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def bit(self) -> int:
        byte = self._pos >> 3
        if byte >= len(self._data):
            raise ValueError("truncated")
        value = (self._data[byte] >> (7 - (self._pos & 7))) & 1
        self._pos += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _sps_size(nal: bytes) -> tuple[int, int] | None:
    """Picture size from a sequence parameter set NAL unit (ITU-T H.264 7.3.2.1.1)."""
    rbsp = nal[1:].replace(b"\x00\x00\x03", b"\x00\x00")
    reader = _BitReader(rbsp)
    try:
        profile_idc = reader.bits(8)
        reader.bits(16)  # constraint flags, level_idc
        reader.ue()  # seq_parameter_set_id
        chroma_format_idc = 1
        if profile_idc in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma_format_idc = reader.ue()
            if chroma_format_idc == 3:
                reader.bit()  # separate_colour_plane_flag
            reader.ue()  # bit_depth_luma_minus8
            reader.ue()  # bit_depth_chroma_minus8
            reader.bit()  # qpprime_y_zero_transform_bypass_flag
            if reader.bit():  # seq_scaling_matrix_present_flag
                for index in range(8 if chroma_format_idc != 3 else 12):
                    if reader.bit():
                        _skip_scaling_list(reader, 16 if index < 6 else 64)
        reader.ue()  # log2_max_frame_num_minus4
        pic_order_cnt_type = reader.ue()
        if pic_order_cnt_type == 0:
            reader.ue()
        elif pic_order_cnt_type == 1:
            reader.bit()
            reader.se()
            reader.se()
            for _ in range(reader.ue()):
                reader.se()
        reader.ue()  # max_num_ref_frames
        reader.bit()  # gaps_in_frame_num_value_allowed_flag
        width_mbs = reader.ue() + 1
        height_map_units = reader.ue() + 1
        frame_mbs_only = reader.bit()
        if not frame_mbs_only:
            reader.bit()  # mb_adaptive_frame_field_flag
        reader.bit()  # direct_8x8_inference_flag
        crop = (0, 0, 0, 0)
        if reader.bit():  # frame_cropping_flag
            crop = (reader.ue(), reader.ue(), reader.ue(), reader.ue())
    except ValueError:
        return None
    crop_x = 1 if chroma_format_idc in (0, 3) else 2
    crop_y = (1 if chroma_format_idc in (0, 2, 3) else 2) * (2 - frame_mbs_only)
    width = width_mbs * 16 - crop_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_map_units * 16 - crop_y * (crop[2] + crop[3])
    if width <= 0 or height <= 0:
        return None
    return width, height


def _skip_scaling_list(reader: _BitReader, size: int) -> None:
    last, next_ = 8, 8
    for _ in range(size):
        if next_ != 0:
            next_ = (last + reader.se() + 256) % 256
        last = next_ if next_ != 0 else last
