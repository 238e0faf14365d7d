/*
 * The C SDK's conformance guest: the protocol of
 * plugins/conformance/README.md (ABI 1.1, transform and lookup), written
 * against conveyor.h's public API. The behaviour of conveyor_process is
 * chosen by config key "mode".
 */
#define CONVEYOR_IMPLEMENTATION
#include "conveyor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum mode { ECHO, DROP, SPLIT, REWRITE, ERROR_ODD, MIXED, TRAP, LOOP, GROW, STACK, LOG, LOGFLOOD, COUNTER, CONFIG };

static const struct {
    const char *name;
    enum mode mode;
} modes[] = {
    {"echo", ECHO},       {"lookup", ECHO},   {"drop", DROP},   {"split", SPLIT},       {"rewrite", REWRITE},
    {"error_odd", ERROR_ODD}, {"mixed", MIXED}, {"trap", TRAP}, {"loop", LOOP},        {"grow", GROW},
    {"stack", STACK},     {"log", LOG},       {"logflood", LOGFLOOD}, {"counter", COUNTER}, {"config", CONFIG},
};

static enum mode mode = ECHO;
static uint32_t n_parts = 3;

static const char *init(const cv_config *cfg) {
    cv_bytes v;
    if (cv_config_get(cfg, "mode", &v)) {
        size_t i, k = sizeof modes / sizeof *modes;
        for (i = 0; i < k; i++)
            if (strlen(modes[i].name) == v.len && memcmp(modes[i].name, v.ptr, v.len) == 0)
                break;
        if (i == k)
            return cv_errorf("unknown mode \"%.*s\"", (int)v.len, (const char *)v.ptr);
        mode = modes[i].mode;
    }
    if (cv_config_get(cfg, "n", &v)) {
        uint32_t n = 0;
        if (v.len == 0 || v.len > 9)
            return "config \"n\": not a small decimal number";
        for (uint32_t i = 0; i < v.len; i++) {
            if (v.ptr[i] < '0' || v.ptr[i] > '9')
                return "config \"n\": not a small decimal number";
            n = n * 10 + (uint32_t)(v.ptr[i] - '0');
        }
        n_parts = n;
    }
    return NULL;
}

/* Appends s as a JSON string: '"', '\' and control characters escaped. */
static void json_string(cv_buf *b, const uint8_t *s, size_t n) {
    cv_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char esc[8];
        if (s[i] == '"' || s[i] == '\\') {
            esc[0] = '\\', esc[1] = (char)s[i];
            cv_buf_append(b, esc, 2);
        } else if (s[i] < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", s[i]);
            cv_buf_append(b, esc, 6);
        } else {
            cv_buf_append(b, &s[i], 1);
        }
    }
    cv_buf_append(b, "\"", 1);
}

static cv_buf scratch, scratch2;

static int process(const cv_record *r, cv_emitter *out) {
    cv_record o = *r;
    switch (mode) {
    case DROP:
        return 0;
    case SPLIT: {
        cv_kv *md = (cv_kv *)malloc(((size_t)r->metadata_len + 1) * sizeof *md);
        char num[16];
        if (!md)
            cv_trap("out of memory");
        if (r->metadata_len)
            memcpy(md, r->metadata, r->metadata_len * sizeof *md);
        o.metadata = md;
        o.metadata_len = r->metadata_len + 1;
        for (uint32_t p = 0; p < n_parts; p++) {
            int k = snprintf(num, sizeof num, "%u", p);
            md[r->metadata_len] = (cv_kv){{(const uint8_t *)"part", 4}, {(const uint8_t *)num, (uint32_t)k}};
            cv_emit(out, &o);
        }
        free(md);
        return 0;
    }
    case REWRITE: {
        cv_kv *md = (cv_kv *)malloc(((size_t)r->metadata_len + 1) * sizeof *md);
        if (!md)
            cv_trap("out of memory");
        if (r->metadata_len)
            memcpy(md, r->metadata, r->metadata_len * sizeof *md);
        md[r->metadata_len] = (cv_kv){{(const uint8_t *)"seen", 4}, {(const uint8_t *)"1", 1}};
        scratch.len = 0;
        cv_buf_append(&scratch, "k-", 2);
        cv_buf_append(&scratch, r->key.ptr, r->key.len);
        o.key = (cv_bytes){scratch.data, (uint32_t)scratch.len};
        o.metadata = md;
        o.metadata_len = r->metadata_len + 1;
        if (o.has_event_time)
            o.event_time = (int64_t)((uint64_t)o.event_time + 1000);
        cv_emit(out, &o);
        free(md);
        return 0;
    }
    case ERROR_ODD:
        if (cv_input(out) % 2 == 1)
            return cv_fail(out, "odd record");
        cv_emit(out, r);
        return 0;
    case LOG:
        cv_log(CV_INFO, r->payload.ptr, r->payload.len);
        cv_emit(out, r);
        return 0;
    case COUNTER:
        cv_counter("records", 1);
        cv_emit(out, r);
        return 0;
    case CONFIG: {
        int32_t n = cv_host_config("value", NULL, 0); /* a length query */
        scratch.len = 0;
        if (n < 0) {
            cv_buf_append_str(&scratch, "{\"value\":null,\"present\":false}");
        } else {
            scratch2.len = 0;
            cv_buf_reserve(&scratch2, (size_t)n + 1);
            int32_t m = cv_host_config("value", scratch2.data, (size_t)n + 1);
            if (m != n)
                cv_trap("config_get_v1 returned %d, then %d", n, m);
            cv_buf_append_str(&scratch, "{\"value\":");
            json_string(&scratch, scratch2.data, (size_t)n);
            cv_buf_append_str(&scratch, ",\"present\":true}");
        }
        cv_record c = {r->key, {scratch.data, (uint32_t)scratch.len}, NULL, 0, 0, 0};
        cv_emit(out, &c);
        return 0;
    }
    default:
        cv_emit(out, r);
        return 0;
    }
}

static volatile int stop;

/* Unbounded non-tail recursion; each frame keeps 8 u64 (64 bytes) alive
 * across the call in Wasm locals, so it overflows the runtime's call stack
 * rather than the shadow stack in linear memory. */
__attribute__((noinline)) static uint64_t recurse(uint64_t d) {
    if (stop)
        return d;
    uint64_t a[8] = {d, d ^ 1, d ^ 2, d ^ 3, d ^ 4, d ^ 5, d ^ 6, d ^ 7};
    uint64_t r = recurse(d + 1);
    for (int i = 0; i < 8; i++)
        r = r * 31 + a[i];
    return r;
}

static void process_batch(const cv_record *recs, uint32_t n, cv_output *out) {
    switch (mode) {
    case TRAP:
        __builtin_trap();
    case LOOP:
        for (volatile uint64_t x = 0;; x++) {
        }
    case GROW: {
        static const char msg[] = "conformance guest: out of memory\n";
        while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) {
        }
        write(2, msg, sizeof msg - 1);
        __builtin_trap();
    }
    case STACK: {
        uint64_t r = recurse(0); /* returns only if stop is set */
        cv_out_error(out, 0, (const char *)&r, 1);
        return;
    }
    case MIXED:
        for (uint32_t i = 0; i < n; i++) {
            cv_out_emit(out, i, &recs[i]);
            cv_out_error(out, i, "mixed", 5);
        }
        return;
    case LOGFLOOD:
        for (int i = 0; i < 10000; i++)
            cv_log(CV_INFO, "flood", 5);
        for (uint32_t i = 0; i < n; i++)
            cv_out_emit(out, i, &recs[i]);
        return;
    default:
        for (uint32_t i = 0; i < n; i++)
            cv_out_record(out, i, &recs[i]);
    }
}

static int lookup(cv_bytes key, cv_buf *row) {
    if (key.len < 4 || memcmp(key.ptr, "hit-", 4) != 0)
        return 0;
    char num[16];
    int k = snprintf(num, sizeof num, "%u", key.len);
    cv_buf_append_str(row, "{\"key\":\"");
    cv_buf_append(row, key.ptr, key.len); /* the suite's keys need no escaping */
    cv_buf_append_str(row, "\",\"n\":");
    cv_buf_append(row, num, (size_t)k);
    cv_buf_append(row, "}", 1);
    return 1;
}

static const cv_plugin plugin = {
    .init = init,
    .process = process,
    .process_batch = process_batch,
    .lookup = lookup,
};

CONVEYOR_EXPORT_TRANSFORM_AND_LOOKUP(plugin)
