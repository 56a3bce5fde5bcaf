/* The receive-side bandwidth estimate of a publisher's video (abs-send-time), in C.
 *
 * The same computation as aiortc 1.16.0's RemoteBitrateEstimator (aiortc/rate.py:
 * RateCounter, InterArrival, OveruseEstimator, OveruseDetector, AimdRateControl),
 * step for step and in the same floating-point order, so that every packet gives
 * the same answer (tests/relay/test_estimator.py feeds both the same streams):
 * Python's round() is round-half-even (nearbyint), int() truncates.
 *
 * Two differences, both where aiortc would misbehave: the SSRCs it reports are at
 * most HS_REMB_SSRCS (aiortc's list grows with every SSRC ever seen), and a zero
 * current bitrate, where aiortc divides by zero, takes the 4000 bit/s floor. (A jump
 * of the arrival clock by more than the rate window clears the window at once, where
 * aiortc walks it a millisecond at a time: the same result, without the walk.)
 *
 * Compiled into hearing_server.relay._sendpath with sendpath.c (sendpath_build.py).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define HS_RATE_WINDOW 1000
#define HS_REMB_SSRCS 16
#define HS_ESTIMATOR_STATE 8

enum { HS_NORMAL = 0, HS_UNDERUSING = 1, HS_OVERUSING = 2 };
enum { HS_HOLD = 0, HS_INCREASE = 1, HS_DECREASE = 2 };

typedef struct {
    int has_arrival;
    int64_t arrival_time;
    uint32_t first_timestamp;
    uint32_t last_timestamp;
    int64_t size;
} hs_group;

typedef struct {
    /* RateCounter(1000, 8000) */
    int64_t count[HS_RATE_WINDOW];
    int64_t value[HS_RATE_WINDOW];
    int origin_index;
    int has_origin;
    int64_t origin_ms;
    int64_t total_count;
    int64_t total_value;
    int incoming_initialized;
    /* InterArrival */
    int has_current, has_previous;
    hs_group current, previous;
    /* OveruseEstimator */
    double E[2][2];
    int num_of_deltas;
    double offset, previous_offset, slope;
    double ts_delta_hist[60];
    int hist_len;
    double avg_noise, var_noise;
    /* OveruseDetector */
    int hypothesis;
    int has_det_update;
    int64_t det_last_update_ms;
    int overuse_counter;
    int has_overuse_time;
    double overuse_time;
    double det_previous_offset;
    double threshold;
    /* AimdRateControl */
    int has_avg_max;
    double avg_max_bitrate_kbps;
    double var_max_bitrate_kbps;
    int64_t current_bitrate;
    int current_bitrate_initialized;
    int has_first_throughput;
    int64_t first_estimated_throughput_time;
    int has_last_change;
    int64_t last_change_ms;
    int near_max;
    int64_t latest_estimated_throughput;
    int state;
    /* RemoteBitrateEstimator */
    int has_last_update;
    int64_t last_update_ms;
    int n_ssrcs;
    uint32_t ssrcs[HS_REMB_SSRCS];
} hs_estimator;

static const double HS_TIMESTAMP_TO_MS = 1000.0 / (double)(1 << 26);
/* (TIMESTAMP_GROUP_LENGTH_MS << INTER_ARRIVAL_SHIFT) // 1000 */
static const uint32_t HS_GROUP_LENGTH = (5u << 26) / 1000u;

void hs_estimator_init(hs_estimator *e)
{
    memset(e, 0, sizeof *e);
    e->incoming_initialized = 1;
    e->E[0][0] = 100.0;
    e->E[1][1] = 0.1;
    e->slope = 1.0 / 64;
    e->var_noise = 50.0;
    e->threshold = 12.5;
    e->var_max_bitrate_kbps = 0.4;
    e->current_bitrate = 30000000;
    e->latest_estimated_throughput = 30000000;
    e->state = HS_HOLD;
    e->hypothesis = HS_NORMAL;
}

/* ---- RateCounter ---- */

static int64_t floor_mod(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static void rate_erase_old(hs_estimator *e, int64_t now_ms)
{
    int64_t new_origin_ms = now_ms - HS_RATE_WINDOW + 1;
    if (new_origin_ms - e->origin_ms >= HS_RATE_WINDOW) {  /* the whole window is old */
        memset(e->count, 0, sizeof e->count);
        memset(e->value, 0, sizeof e->value);
        e->total_count = e->total_value = 0;
        e->origin_index = (int)floor_mod(e->origin_index + (new_origin_ms - e->origin_ms),
                                         HS_RATE_WINDOW);
        e->origin_ms = new_origin_ms;
        return;
    }
    while (e->origin_ms < new_origin_ms) {
        int i = e->origin_index;
        e->total_count -= e->count[i];
        e->total_value -= e->value[i];
        e->count[i] = 0;
        e->value[i] = 0;
        e->origin_index = (i + 1) % HS_RATE_WINDOW;
        e->origin_ms += 1;
    }
}

static void rate_add(hs_estimator *e, int64_t value, int64_t now_ms)
{
    if (!e->has_origin) {
        e->has_origin = 1;
        e->origin_ms = now_ms;
    } else {
        rate_erase_old(e, now_ms);
    }
    int i = (int)floor_mod(e->origin_index + now_ms - e->origin_ms, HS_RATE_WINDOW);
    e->count[i] += 1;
    e->value[i] += value;
    e->total_count += 1;
    e->total_value += value;
}

/* 1 and *rate set, or 0 (None) */
static int rate_rate(hs_estimator *e, int64_t now_ms, int64_t *rate)
{
    if (e->has_origin) {
        rate_erase_old(e, now_ms);
        int64_t active = now_ms - e->origin_ms + 1;
        if (e->total_count > 0 && active > 1) {
            *rate = (int64_t)nearbyint(8000.0 * (double)e->total_value / (double)active);
            return 1;
        }
    }
    return 0;
}

static void rate_reset(hs_estimator *e)
{
    memset(e->count, 0, sizeof e->count);
    memset(e->value, 0, sizeof e->value);
    e->origin_index = 0;
    e->has_origin = 0;
    e->total_count = e->total_value = 0;
}

/* ---- InterArrival ---- */

static int uint32_gt(uint32_t a, uint32_t b)
{
    return (a < b && (b - a) > 0x80000000u) || (a > b && (a - b) < 0x80000000u);
}

static void group_start(hs_group *g, uint32_t timestamp)
{
    g->has_arrival = 0;
    g->arrival_time = 0;
    g->first_timestamp = g->last_timestamp = timestamp;
    g->size = 0;
}

/* 1 and the deltas set, or 0 (None) */
static int compute_deltas(hs_estimator *e, uint32_t timestamp, int64_t arrival_time,
                          int64_t packet_size, uint32_t *d_ts, int64_t *d_arrival,
                          int64_t *d_size)
{
    int deltas = 0;
    hs_group *cur = &e->current;
    if (!e->has_current) {
        e->has_current = 1;
        group_start(cur, timestamp);
    } else if ((uint32_t)(timestamp - cur->first_timestamp) >= 0x80000000u) {
        return 0;  /* out of order */
    } else {
        /* belongs_to_burst (the current group has an arrival time once it has a packet) */
        uint32_t ts_delta = timestamp - cur->last_timestamp;
        int64_t ts_delta_ms = (int64_t)nearbyint(HS_TIMESTAMP_TO_MS * (double)ts_delta);
        int64_t arrival_delta = arrival_time - cur->arrival_time;
        int burst = ts_delta_ms == 0 || ((arrival_delta - ts_delta_ms) < 0 && arrival_delta <= 5);
        if (!burst && (uint32_t)(timestamp - cur->first_timestamp) > HS_GROUP_LENGTH) {
            if (e->has_previous) {
                *d_ts = cur->last_timestamp - e->previous.last_timestamp;
                *d_arrival = cur->arrival_time - e->previous.arrival_time;
                *d_size = cur->size - e->previous.size;
                deltas = 1;
            }
            e->previous = *cur;
            e->has_previous = 1;
            group_start(cur, timestamp);
        } else if (uint32_gt(timestamp, cur->last_timestamp)) {
            cur->last_timestamp = timestamp;
        }
    }
    cur->size += packet_size;
    cur->arrival_time = arrival_time;
    cur->has_arrival = 1;
    return deltas;
}

/* ---- OveruseEstimator ---- */

static double update_min_frame_period(hs_estimator *e, double ts_delta)
{
    double min_frame_period = ts_delta;
    if (e->hist_len >= 60) {
        memmove(e->ts_delta_hist, e->ts_delta_hist + 1, 59 * sizeof(double));
        e->hist_len = 59;
    }
    for (int i = 0; i < e->hist_len; i++) {
        double old = e->ts_delta_hist[i];
        if (min_frame_period < old) {
            /* Python's min(old, m) is old unless m < old */
        } else {
            min_frame_period = old;
        }
    }
    e->ts_delta_hist[e->hist_len++] = ts_delta;
    return min_frame_period;
}

static void update_noise_estimate(hs_estimator *e, double residual, double ts_delta)
{
    double alpha = e->num_of_deltas > 10 * 30 ? 0.002 : 0.01;
    double beta = pow(1 - alpha, ts_delta * 30.0 / 1000.0);
    e->avg_noise = beta * e->avg_noise + (1 - beta) * residual;
    e->var_noise = beta * e->var_noise + (1 - beta) * pow(e->avg_noise - residual, 2.0);
    if (e->var_noise < 1)
        e->var_noise = 1;
}

static void estimator_update(hs_estimator *e, int64_t time_delta_ms, double ts_delta_ms,
                             int64_t size_delta, int hypothesis)
{
    double min_frame_period = update_min_frame_period(e, ts_delta_ms);
    double t_ts_delta = (double)time_delta_ms - ts_delta_ms;
    double h0 = (double)size_delta;

    e->num_of_deltas = e->num_of_deltas + 1 < 1000 ? e->num_of_deltas + 1 : 1000;
    e->E[0][0] += 1e-13;
    e->E[1][1] += 1e-3;
    if ((hypothesis == HS_OVERUSING && e->offset < e->previous_offset)
        || (hypothesis == HS_UNDERUSING && e->offset > e->previous_offset))
        e->E[1][1] += 10 * 1e-3;

    double Eh0 = e->E[0][0] * h0 + e->E[0][1] * 1.0;
    double Eh1 = e->E[1][0] * h0 + e->E[1][1] * 1.0;
    double residual = t_ts_delta - e->slope * h0 - e->offset;
    if (hypothesis == HS_NORMAL) {
        double max_residual = 3.0 * sqrt(e->var_noise);
        if (fabs(residual) < max_residual)
            update_noise_estimate(e, residual, min_frame_period);
        else
            update_noise_estimate(e, residual < 0 ? -max_residual : max_residual,
                                  min_frame_period);
    }
    double denom = e->var_noise + h0 * Eh0 + 1.0 * Eh1;
    double K0 = Eh0 / denom, K1 = Eh1 / denom;
    double IKh00 = 1.0 - K0 * h0, IKh01 = -K0 * 1.0;
    double IKh10 = -K1 * h0, IKh11 = 1.0 - K1 * 1.0;
    double e00 = e->E[0][0], e01 = e->E[0][1];
    e->E[0][0] = e00 * IKh00 + e->E[1][0] * IKh01;
    e->E[0][1] = e01 * IKh00 + e->E[1][1] * IKh01;
    e->E[1][0] = e00 * IKh10 + e->E[1][0] * IKh11;
    e->E[1][1] = e01 * IKh10 + e->E[1][1] * IKh11;
    e->previous_offset = e->offset;
    e->slope += K0 * residual;
    e->offset += K1 * residual;
}

/* ---- OveruseDetector ---- */

static void update_threshold(hs_estimator *e, double modified_offset, int64_t now_ms)
{
    if (!e->has_det_update) {
        e->has_det_update = 1;
        e->det_last_update_ms = now_ms;
    }
    double a = fabs(modified_offset);
    if (a > e->threshold + 15) {
        e->det_last_update_ms = now_ms;
        return;
    }
    double k = a < e->threshold ? 0.039 : 0.0087;
    int64_t dt = now_ms - e->det_last_update_ms;
    if (dt > 100)
        dt = 100;
    e->threshold += k * (a - e->threshold) * (double)dt;
    if (e->threshold > 600)
        e->threshold = 600;
    if (e->threshold < 6)
        e->threshold = 6;
    e->det_last_update_ms = now_ms;
}

static void detect(hs_estimator *e, double offset, double ts_delta_ms, int num_of_deltas,
                   int64_t now_ms)
{
    if (num_of_deltas < 2)
        return;
    double T = (double)(num_of_deltas < 60 ? num_of_deltas : 60) * offset;
    if (T > e->threshold) {
        if (!e->has_overuse_time) {
            e->has_overuse_time = 1;
            e->overuse_time = ts_delta_ms / 2;
        } else {
            e->overuse_time += ts_delta_ms;
        }
        e->overuse_counter += 1;
        if (e->overuse_time > 10 && e->overuse_counter > 1 && offset >= e->det_previous_offset) {
            e->overuse_counter = 0;
            e->overuse_time = 0;
            e->hypothesis = HS_OVERUSING;
        }
    } else if (T < -e->threshold) {
        e->overuse_counter = 0;
        e->has_overuse_time = 0;
        e->hypothesis = HS_UNDERUSING;
    } else {
        e->overuse_counter = 0;
        e->has_overuse_time = 0;
        e->hypothesis = HS_NORMAL;
    }
    e->det_previous_offset = offset;
    update_threshold(e, T, now_ms);
}

/* ---- AimdRateControl ---- */

static int64_t clamp_bitrate(hs_estimator *e, int64_t new_bitrate, int64_t throughput)
{
    int64_t max_bitrate = (int64_t)(1.5 * (double)throughput) + 10000;
    if (e->current_bitrate > max_bitrate)
        max_bitrate = e->current_bitrate;
    return new_bitrate < max_bitrate ? new_bitrate : max_bitrate;
}

static int64_t near_max_rate_increase(hs_estimator *e)
{
    double bits_per_frame = (double)e->current_bitrate / 30;
    double packets_per_frame = ceil(bits_per_frame / (8 * 1200));
    if (packets_per_frame == 0)
        return 4000;  /* aiortc divides by zero here */
    double avg_packet_size_bits = bits_per_frame / packets_per_frame;
    int64_t v = (int64_t)((avg_packet_size_bits * 1000) / (200 + 100));
    return v > 4000 ? v : 4000;
}

static void update_max_throughput_estimate(hs_estimator *e, double kbps)
{
    const double alpha = 0.05;
    if (!e->has_avg_max) {
        e->has_avg_max = 1;
        e->avg_max_bitrate_kbps = kbps;
    } else {
        e->avg_max_bitrate_kbps = (1 - alpha) * e->avg_max_bitrate_kbps + alpha * kbps;
    }
    double norm = e->avg_max_bitrate_kbps > 1 ? e->avg_max_bitrate_kbps : 1;
    e->var_max_bitrate_kbps = (1 - alpha) * e->var_max_bitrate_kbps
        + alpha * pow(e->avg_max_bitrate_kbps - kbps, 2.0) / norm;
    double v = e->var_max_bitrate_kbps < 2.5 ? e->var_max_bitrate_kbps : 2.5;
    e->var_max_bitrate_kbps = v > 0.4 ? v : 0.4;
}

/* 1 and *bitrate set, or 0 (None) */
static int rate_control_update(hs_estimator *e, int usage, int has_throughput,
                               int64_t throughput, int64_t now_ms, int64_t *bitrate)
{
    if (!e->current_bitrate_initialized && has_throughput) {
        if (!e->has_first_throughput) {
            e->has_first_throughput = 1;
            e->first_estimated_throughput_time = now_ms;
        } else if (now_ms - e->first_estimated_throughput_time > 3000) {
            e->current_bitrate = throughput;
            e->current_bitrate_initialized = 1;
        }
    }
    if (!e->current_bitrate_initialized && usage != HS_OVERUSING)
        return 0;

    if (usage == HS_NORMAL && e->state == HS_HOLD) {
        e->has_last_change = 1;
        e->last_change_ms = now_ms;
        e->state = HS_INCREASE;
    } else if (usage == HS_OVERUSING) {
        e->state = HS_DECREASE;
    } else if (usage == HS_UNDERUSING) {
        e->state = HS_HOLD;
    }

    int64_t new_bitrate = e->current_bitrate;
    if (has_throughput)
        e->latest_estimated_throughput = throughput;
    else
        throughput = e->latest_estimated_throughput;
    double kbps = (double)throughput / 1000;

    if (e->state == HS_INCREASE) {
        if (e->has_avg_max) {
            double sigma = sqrt(e->var_max_bitrate_kbps * e->avg_max_bitrate_kbps);
            if (kbps >= e->avg_max_bitrate_kbps + 3 * sigma) {
                e->near_max = 0;
                e->has_avg_max = 0;
            }
        }
        if (e->near_max) {
            new_bitrate += (int64_t)((double)(now_ms - e->last_change_ms)
                                     * (double)near_max_rate_increase(e) / 1000);
        } else {
            double alpha = 1.08;
            if (e->has_last_change) {
                int64_t elapsed = now_ms - e->last_change_ms;
                if (elapsed > 1000)
                    elapsed = 1000;
                alpha = pow(alpha, (double)elapsed / 1000);
            }
            double inc = (alpha - 1) * (double)new_bitrate;
            new_bitrate += (int64_t)(1000 > inc ? 1000 : inc);
        }
        e->has_last_change = 1;
        e->last_change_ms = now_ms;
    } else if (e->state == HS_DECREASE) {
        if (e->has_avg_max) {
            double sigma = sqrt(e->var_max_bitrate_kbps * e->avg_max_bitrate_kbps);
            if (kbps < e->avg_max_bitrate_kbps - 3 * sigma)
                e->has_avg_max = 0;
        }
        update_max_throughput_estimate(e, kbps);
        e->near_max = 1;
        new_bitrate = (int64_t)nearbyint(0.85 * (double)throughput);
        e->has_last_change = 1;
        e->last_change_ms = now_ms;
        e->state = HS_HOLD;
    }
    e->current_bitrate = clamp_bitrate(e, new_bitrate, throughput);
    *bitrate = e->current_bitrate;
    return 1;
}

/* ---- RemoteBitrateEstimator.add ---- */

/* One packet of the stream: 1 when a REMB is due (*bitrate, and the SSRCs seen in
 * ssrcs[0 .. *n_ssrcs)), else 0. */
int hs_estimator_add(hs_estimator *e, int64_t arrival_time_ms, uint32_t abs_send_time,
                     int64_t payload_size, uint32_t ssrc, int64_t *bitrate, int *n_ssrcs)
{
    uint32_t timestamp = abs_send_time << 8;
    int seen = 0;
    for (int i = 0; i < e->n_ssrcs; i++)
        seen |= e->ssrcs[i] == ssrc;
    if (!seen && e->n_ssrcs < HS_REMB_SSRCS)
        e->ssrcs[e->n_ssrcs++] = ssrc;

    int64_t rate = 0;
    if (rate_rate(e, arrival_time_ms, &rate)) {
        e->incoming_initialized = 1;
    } else if (e->incoming_initialized) {
        rate_reset(e);
        e->incoming_initialized = 0;
    }
    rate_add(e, payload_size, arrival_time_ms);

    uint32_t d_ts;
    int64_t d_arrival, d_size;
    if (compute_deltas(e, timestamp, arrival_time_ms, payload_size, &d_ts, &d_arrival,
                       &d_size)) {
        double ts_delta_ms = (double)d_ts * HS_TIMESTAMP_TO_MS;
        estimator_update(e, d_arrival, ts_delta_ms, d_size, e->hypothesis);
        detect(e, e->offset, ts_delta_ms, e->num_of_deltas, arrival_time_ms);
    }

    if ((!e->has_last_update || arrival_time_ms - e->last_update_ms > 500)
        || e->hypothesis == HS_OVERUSING) {
        int has = rate_rate(e, arrival_time_ms, &rate);
        if (rate_control_update(e, e->hypothesis, has, rate, arrival_time_ms, bitrate)) {
            e->has_last_update = 1;
            e->last_update_ms = arrival_time_ms;
            *n_ssrcs = e->n_ssrcs;
            return 1;
        }
    }
    return 0;
}

/* The SSRCs a REMB names (hs_estimator_add says how many). */
const uint32_t *hs_estimator_ssrcs(hs_estimator *e)
{
    return e->ssrcs;
}

/* The filter's state, for the tests that hold it to aiortc's: the offset, slope,
 * noise mean and variance, covariance diagonal, detector threshold, and the bitrate. */
void hs_estimator_state(const hs_estimator *e, double out[HS_ESTIMATOR_STATE])
{
    out[0] = e->offset;
    out[1] = e->slope;
    out[2] = e->avg_noise;
    out[3] = e->var_noise;
    out[4] = e->E[0][0];
    out[5] = e->E[1][1];
    out[6] = e->threshold;
    out[7] = (double)e->current_bitrate;
}
