/* Native unit tests of conveyor.h: frames byte for byte, the per-record and
 * batch APIs, lookups, and the stand-in host (build.sh test). */
#define CONVEYOR_IMPLEMENTATION
#include "conveyor.h"

#include "check.h"

static cv_bytes tag;

static const char *tagger_init(const cv_config *cfg) {
    if (!cv_config_get(cfg, "tag", &tag))
        return "config \"tag\" is required";
    return NULL;
}

static int tagger_process(const cv_record *r, cv_emitter *out) {
    if (r->payload.len == 4 && memcmp(r->payload.ptr, "fail", 4) == 0) {
        cv_emit(out, r); /* rolled back */
        return cv_fail(out, "bad payload %u", cv_input(out));
    }
    if (r->payload.len == 4 && memcmp(r->payload.ptr, "drop", 4) == 0)
        return 0;
    cv_kv md[8];
    memcpy(md, r->metadata, r->metadata_len * sizeof *md);
    md[r->metadata_len] = (cv_kv){B("tag"), tag};
    cv_record o = *r;
    o.metadata = md;
    o.metadata_len = r->metadata_len + 1;
    cv_emit(out, &o);
    cv_counter("seen", 1);
    cv_logf(CV_INFO, "key %.*s at %lld", (int)r->key.len, (const char *)r->key.ptr, (long long)cv_now());
    return 0;
}

static const cv_plugin tagger = {.init = tagger_init, .process = tagger_process};

static void reverse_batch(const cv_record *recs, uint32_t n, cv_output *out) {
    for (uint32_t i = n; i-- > 0;) {
        cv_out_emit(out, i, &recs[i]);
        cv_out_error(out, i, "", 0);
        cv_out_drop(out, i);
    }
}

static int table_lookup(cv_bytes key, cv_buf *row) {
    if (key.len < 4 || memcmp(key.ptr, "hit-", 4) != 0)
        return 0;
    cv_buf_append_str(row, "{\"ok\":true}");
    return 1;
}

static const cv_plugin batcher = {.process_batch = reverse_batch, .lookup = table_lookup};

/* ABI.md section 6.9's input batch. */
static const uint8_t abi_example[] = {
    0x43, 0x56, 0x59, 0x42, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x4b,
    0x01, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00,
};

int main(void) {
    /* init: an error, then success */
    cv_test_reset();
    const char *err = cv_test_init(&tagger);
    CHECK(err && strcmp(err, "config \"tag\" is required") == 0);
    cv_test_config("tag", "x");
    cv_test_config("a", "1");
    CHECK(cv_test_init(&tagger) == NULL);

    /* transform: map, error with roll-back, drop; metadata and time kept */
    cv_kv md[1] = {{B("m"), B("1")}};
    cv_record in[3] = {
        {B("k0"), B("p"), md, 1, 1, -5},
        {B("k1"), B("fail"), NULL, 0, 0, 0},
        {B("k2"), B("drop"), NULL, 0, 0, 0},
    };
    cv_test_set_clock(42);
    const cv_test_entry *out;
    uint32_t n = cv_test_process(&tagger, in, 3, &out);
    CHECK(n == 2);
    CHECK(out[0].kind == 0 && out[0].input == 0 && out[0].record.has_event_time && out[0].record.event_time == -5);
    CHECK_BYTES(out[0].record.key, "k0");
    CHECK(out[0].record.metadata_len == 2);
    CHECK_BYTES(out[0].record.metadata[0].key, "m");
    CHECK_BYTES(out[0].record.metadata[1].value, "x");
    CHECK(out[1].kind == 2 && out[1].input == 1);
    CHECK_BYTES(out[1].message, "bad payload 1");
    CHECK(cv_test_counter("seen") == 1);
    int level;
    CHECK(cv_test_log_count() == 1 && strcmp(cv_test_log(0, &level), "key k0 at 42") == 0 && level == CV_INFO);
    CHECK(cv_test_process(&tagger, NULL, 0, &out) == 0);

    /* the ABI example frame, byte for byte through the process path */
    const cv_buf *o = cv__process_frame(&tagger, abi_example, sizeof abi_example);
    static const uint8_t head[] = {0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(o->len > sizeof head + 23 && memcmp(o->data, head, sizeof head) == 0);
    CHECK(memcmp(o->data + sizeof head, abi_example + 16, 19) == 0); /* flags, time, key, payload */

    /* config frames: strict, errors reported by init */
    static const uint8_t unsorted[] = {0x43, 0x56, 0x59, 0x43, 1, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'b', 0, 0,
                                       0,    0,    1,    0,    0, 0, 'a', 0, 0, 0, 0};
    err = cv__init_frame(&tagger, unsorted, sizeof unsorted);
    CHECK(err && strstr(err, "offset 21") && strstr(err, "sorted"));
    static const uint8_t empty[] = {0x43, 0x56, 0x59, 0x43, 1, 0, 0, 0, 0, 0, 0, 0};
    CHECK(cv__init_frame(&batcher, empty, sizeof empty) == NULL);

    /* batch level: any order, several kinds per input */
    n = cv_test_process(&batcher, in, 2, &out);
    CHECK(n == 6);
    CHECK(out[0].kind == 0 && out[0].input == 1);
    CHECK(out[1].kind == 2);
    CHECK_BYTES(out[1].message, "transform failed with an empty error");
    CHECK(out[2].kind == 1 && out[5].kind == 1 && out[5].input == 0);

    /* lookups */
    cv_bytes keys[3] = {B("hit-1"), B(""), B("miss")};
    const cv_test_result *res;
    CHECK(cv_test_lookup(&batcher, keys, 3, &res) == 3);
    CHECK(res[0].hit && !res[1].hit && !res[2].hit);
    CHECK_BYTES(res[0].row, "{\"ok\":true}");

    /* config_get_v1 through the stand-in host */
    char buf[4];
    CHECK(cv_host_config("tag", NULL, 0) == 1);
    CHECK(cv_host_config("tag", buf, sizeof buf) == 1 && buf[0] == 'x');
    CHECK(cv_host_config("nope", buf, sizeof buf) == -1);
    cv_test_close(&tagger);
    CHECK_DONE("sdk_test");
}
