"""Builds :mod:`hearing_server.relay._sendpath` from ``sendpath.c`` with cffi (API
mode): ``python -m hearing_server.relay.sendpath_build`` (``scripts/setup.sh`` runs
it; it needs a C compiler and Python's headers). Without the built module the relay
sends through its Python path (:mod:`.sendpath` says which is in use)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from cffi import FFI  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent

CDEF = """
typedef struct {
    void *srtp;
    uintptr_t protect;
    int fd;
    int gso;
    int addrlen;
    ...;
} hs_route;
int hs_route_header(hs_route *r, const uint8_t *header, int header_len, int abs_at);
int hs_set_address(hs_route *r, int family, const char *host, int port);
int hs_send(hs_route *r, uint16_t seq, uint32_t ts, uint32_t abs,
            const uint8_t *data, const char *sizes_raw, int n);
const uint8_t *hs_packet(int i, int *len);
#define HS_MAX_PACKETS 64
"""


def builder() -> FFI:
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source("hearing_server.relay._sendpath", (HERE / "sendpath.c").read_text(),
                   extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra"])
    return ffi


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(builder().compile(tmpdir=tmp, verbose=False))
        target = HERE / built.name
        target.write_bytes(built.read_bytes())
    print(f"built {target.relative_to(HERE.parent.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
