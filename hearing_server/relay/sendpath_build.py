"""Builds :mod:`hearing_server.relay._sendpath` from ``sendpath.c``, ``estimator.c``,
``receive.c`` and ``ingest.c`` with cffi (API mode):
``python -m hearing_server.relay.sendpath_build``
(``scripts/setup.sh`` runs it; it needs a C compiler and Python's headers). Without the
built module the relay sends through its Python path (:mod:`.sendpath` says which is in use)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from cffi import FFI  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent

CDEF = """
typedef struct { ...; } hs_history;
typedef struct {
    void *srtp;
    uintptr_t protect;
    int fd;
    int gso;
    int addrlen;
    uint16_t seq;
    uint32_t origin;
    int64_t offset;
    int64_t last_out;
    int vp8;
    int pid_offset;
    int last_pid;
    uint32_t packets;
    uint64_t octets;
    uint32_t rtp;
    uint64_t ntp;
    uint32_t frames;
    uint64_t bytes;
    uint32_t delay[18];
    double delay_ms;
    hs_history *hist;
    ...;
} hs_route;
int hs_route_header(hs_route *r, const uint8_t *header, int header_len, int abs_at);
int hs_set_address(hs_route *r, int family, const char *host, int port);
int hs_send(hs_route *r, uint16_t seq, uint32_t ts, uint32_t abs,
            const uint8_t *data, const char *sizes_raw, int n);
int hs_fanout(hs_route **routes, int first, int m, int64_t ts, uint64_t ntp, uint32_t abs,
              int pid, const uint8_t *data, const char *sizes_raw, int n,
              uint32_t frame_bytes, int bucket, double ms, int *status, int *failed);
void hs_take(hs_route *r, int64_t *out);
#define HS_TAKE 28
const uint8_t *hs_history_get(hs_route *r, int key, int *seq, int *len);
const uint8_t *hs_packet(int i, int *len);
#define HS_MAX_PACKETS 64
#define HS_PYTHON -2000000
typedef struct { ...; } hs_estimator;
void hs_estimator_init(hs_estimator *e);
int hs_estimator_add(hs_estimator *e, int64_t arrival_time_ms, uint32_t abs_send_time,
                     int64_t payload_size, uint32_t ssrc, int64_t *bitrate, int *n_ssrcs);
const uint32_t *hs_estimator_ssrcs(hs_estimator *e);
#define HS_REMB_SSRCS 16
#define HS_ESTIMATOR_STATE 8
void hs_estimator_state(const hs_estimator *e, double out[HS_ESTIMATOR_STATE]);
typedef struct { void *srtp; uintptr_t unprotect; ...; } hs_rx;
typedef struct { int pt; int abs_id; int8_t ext[16]; } hs_rx_stream;
uint8_t *hs_rx_buffer(hs_rx *rx);
int hs_receive(hs_rx *rx, const hs_rx_stream *s, const uint8_t *data, int n, int64_t *out);
#define HS_RX_MAX 1500
#define HS_RX_FIELDS 9
void hs_set_fake_clock(double now);
double hs_wall_clock(void);
typedef struct {
    int has_base, has_max, has_last;
    int base_seq, max_seq;
    int64_t cycles, packets_received, clockrate;
    int64_t jitter_q4, last_arrival, last_timestamp;
} hs_stats;
void hs_stats_add(hs_stats *s, int seq, int64_t timestamp, double now);
typedef struct { int has_max, max_seq; ...; } hs_nack;
int hs_nack_has(const hs_nack *n, int seq);
int hs_nack_add(hs_nack *n, int seq);
typedef struct {
    int capacity, is_video;
    int has_origin, origin;
    double startup_wait, recovery_wait, keyframe_retry;
    int64_t media_ssrc;
    double arrived_at;
    int awaiting_keyframe;
    int64_t lost_frames, discarded_frames;
    int frame_len;
    uint32_t frame_ts;
    ...;
} hs_jb;
hs_jb *hs_jb_new(int capacity, int is_video, double startup_wait, double recovery_wait,
                 double keyframe_retry);
void hs_jb_free(hs_jb *jb);
const char *hs_jb_frame(const hs_jb *jb);
int hs_jb_add(hs_jb *jb, int seq, uint32_t ts, int marker, uint32_t ssrc,
              const uint8_t *data, int len, double now);
int hs_vp8_start(const uint8_t *p, int n);
typedef struct { int has_origin; int64_t origin, last; } hs_tsmap;
int64_t hs_tsmap_map(hs_tsmap *m, int64_t timestamp);
typedef struct {
    hs_rx_stream read;
    hs_estimator *estimator;
    hs_stats *stats;
    hs_nack *nack;
    hs_jb *jb;
    int depay;
    int key;
    hs_tsmap *tsmap;
    int64_t active_ms;
} hs_ingest;
int hs_ingest_packet(hs_rx *rx, hs_ingest *g, const uint8_t *data, int n, int64_t arrival_ms,
              int64_t *out);
"""
#: the module's C sources, one per concept, compiled as one unit
SOURCES = ("sendpath.c", "estimator.c", "receive.c", "ingest.c")


def builder() -> FFI:
    ffi = FFI()
    ffi.cdef(CDEF)
    source = "\n".join((HERE / name).read_text() for name in SOURCES)
    ffi.set_source("hearing_server.relay._sendpath", source, libraries=["m"],
                   extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra",
                                       "-fno-fast-math", "-ffp-contract=off"])
    return ffi


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(builder().compile(tmpdir=tmp, verbose=False))
        target = HERE / built.name
        # a new file renamed over the old one: a running relay keeps the module it mapped
        partial = target.with_suffix(".partial")
        partial.write_bytes(built.read_bytes())
        partial.replace(target)
    print(f"built {target.relative_to(HERE.parent.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
