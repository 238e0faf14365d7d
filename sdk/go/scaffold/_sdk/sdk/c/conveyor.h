/*
 * conveyor.h: the C guest SDK for conveyor-wasm plugins, ABI 1.1
 * (abi/ABI.md). One header, no dependencies beyond wasi-libc.
 *
 * Use it in exactly one translation unit with the implementation:
 *
 *     #define CONVEYOR_IMPLEMENTATION
 *     #include "conveyor.h"
 *
 *     static const char *init(const cv_config *cfg) {
 *         return cv_config_get(cfg, "tag", NULL) ? NULL : "config \"tag\" is required";
 *     }
 *     static int process(const cv_record *r, cv_emitter *out) {
 *         if (r->payload.len == 0)
 *             return cv_fail(out, "empty payload");  // this record is dead-lettered
 *         cv_emit(out, r);                           // 0 emits drop, several split
 *         return 0;
 *     }
 *     static const cv_plugin plugin = { .init = init, .process = process };
 *     CONVEYOR_EXPORT_TRANSFORM(plugin)
 *
 * Build (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -s -I sdk/c -o plugin.wasm plugin.c
 *
 * Frames are encoded and decoded strictly, byte for byte as ABI.md section 6
 * says. A frame from the host that does not decode, or running out of
 * memory, writes a message to stderr and traps: the host fails the batch.
 * State lives in globals: every Wasm instance has its own memory, and the
 * host never calls one instance concurrently.
 */
#ifndef CONVEYOR_H
#define CONVEYOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: major << 16 | minor. 1.1 adds lookups. */
#define CV_ABI_MAJOR 1
#define CV_ABI_MINOR 1
#define CV_ABI_VERSION ((uint32_t)CV_ABI_MAJOR << 16 | CV_ABI_MINOR)

/* Log levels of log_v1. */
enum { CV_DEBUG = 0, CV_INFO = 1, CV_WARN = 2, CV_ERROR = 3 };

/* A borrowed byte string (not NUL-terminated). */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} cv_bytes;

/* One metadata attribute. */
typedef struct {
    cv_bytes key, value;
} cv_kv;

/*
 * A record as a transform sees it and emits it. Input records borrow the
 * SDK's input buffer: valid until the callback returns. To emit a changed
 * record, copy the struct and change fields: `cv_record o = *r; o.payload
 * = ...; cv_emit(out, &o);`.
 */
typedef struct {
    cv_bytes key;
    cv_bytes payload;
    const cv_kv *metadata; /* metadata_len entries, in order */
    uint32_t metadata_len;
    int has_event_time;    /* 0 or 1 */
    int64_t event_time;    /* Unix nanoseconds; 0 without an event time */
} cv_record;

/* A growable byte buffer (malloc'd); zero-initialise it. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} cv_buf;

void cv_buf_reserve(cv_buf *b, size_t extra); /* traps when out of memory */
void cv_buf_append(cv_buf *b, const void *p, size_t n);
void cv_buf_append_str(cv_buf *b, const char *s);
void cv_buf_free(cv_buf *b);

/* The plugin's configuration (the service's `config:` map), sorted by key. */
typedef struct cv_config cv_config;

/* Finds key; returns 1 and sets *value (may be NULL) if present, else 0. */
int cv_config_get(const cv_config *c, const char *key, cv_bytes *value);
/* Entry i of cv_config_len(c), in ascending key order. */
uint32_t cv_config_len(const cv_config *c);
void cv_config_at(const cv_config *c, uint32_t i, cv_bytes *key, cv_bytes *value);
/* A malloc'd NUL-terminated copy of a value (NULL if absent); free it. */
char *cv_config_strdup(const cv_config *c, const char *key);

/* The output batch being written: entries for any input, in any order. */
typedef struct cv_output cv_output;
/* The outputs of one input record, for the per-record callback. */
typedef struct cv_emitter cv_emitter;
/* The lookup result being written: one answer per key, in key order. */
typedef struct cv_lookup_output cv_lookup_output;

/* Per record: emit a record for the current input (encoded at once). */
void cv_emit(cv_emitter *e, const cv_record *r);
/* Per record: the current input's index in its batch. */
uint32_t cv_input(const cv_emitter *e);
/*
 * Per record: fail the current input with a printf-style message; returns
 * -1 so a callback can `return cv_fail(out, ...)`. What was emitted for the
 * input is discarded; the host dead-letters it with the message.
 */
int cv_fail(cv_emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Batch level: an output record, an explicit drop, a per-record error. */
void cv_out_emit(cv_output *o, uint32_t input, const cv_record *r);
void cv_out_drop(cv_output *o, uint32_t input);
void cv_out_error(cv_output *o, uint32_t input, const char *msg, size_t len);
/* Batch level: run the plugin's per-record callback for input i (with the
 * roll-back on failure that the default batch loop uses). */
void cv_out_record(cv_output *o, uint32_t input, const cv_record *r);

/* Lookups: answer the next key. */
void cv_hit(cv_lookup_output *o, const void *row, size_t len);
void cv_miss(cv_lookup_output *o);

/*
 * A plugin: callbacks, all optional but one of process, process_batch (a
 * transform) or lookup, lookup_batch (a lookup).
 */
typedef struct {
    /* conveyor_init: validate the config. Return NULL for success or an
     * error message (static, or from cv_errorf), which fails the load. */
    const char *(*init)(const cv_config *config);
    /* Transform one record: 0 for success, non-zero for failure (use
     * cv_fail for the message). */
    int (*process)(const cv_record *r, cv_emitter *out);
    /* Transform a whole batch instead (default: process per record). */
    void (*process_batch)(const cv_record *records, uint32_t n, cv_output *out);
    /* Look up one key: append the row (a JSON object) to *row, which is
     * empty on entry, and return 1 for a hit; return 0 for a miss. */
    int (*lookup)(cv_bytes key, cv_buf *row);
    /* Look up a batch of keys instead (default: lookup per key); answer
     * each key once, in order. */
    void (*lookup_batch)(const cv_bytes *keys, uint32_t n, cv_lookup_output *out);
    /* conveyor_close: the host retires a healthy instance. */
    void (*close)(void);
} cv_plugin;

/* A printf-style message in a static buffer, valid until the next call. */
const char *cv_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Host functions (ABI.md section 4). */
void cv_log(int level, const void *msg, size_t len);
void cv_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cv_counter(const char *name, int64_t delta);
int64_t cv_now(void); /* host wall clock, Unix nanoseconds */
/* config_get_v1: the value's length (written to buf if it fits in cap), or
 * -1 if absent. cap 0 (buf may be NULL) only asks for the length. */
int32_t cv_host_config(const char *key, void *buf, size_t cap);

/* Traps with a message on stderr. */
__attribute__((noreturn)) void cv_trap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Internals the export macros call. */
uint64_t cv__init(const cv_plugin *p, uint32_t ptr, uint32_t len);
uint64_t cv__process(const cv_plugin *p, uint32_t ptr, uint32_t len);
uint64_t cv__lookup(const cv_plugin *p, uint32_t ptr, uint32_t len);
uint32_t cv__alloc(uint32_t size);
void cv__close(const cv_plugin *p);
const char *cv__init_frame(const cv_plugin *p, const uint8_t *frame, size_t len);
const cv_buf *cv__process_frame(const cv_plugin *p, const uint8_t *frame, size_t len);
const cv_buf *cv__lookup_frame(const cv_plugin *p, const uint8_t *frame, size_t len);

#ifdef __wasm__
#define CV__EXPORT(name) __attribute__((export_name(#name))) __attribute__((visibility("default")))

#define CV__EXPORT_COMMON(p)                                                                    \
    CV__EXPORT(conveyor_abi_version) uint32_t conveyor_abi_version(void) { return CV_ABI_VERSION; } \
    CV__EXPORT(conveyor_alloc) uint32_t conveyor_alloc(uint32_t size) { return cv__alloc(size); } \
    CV__EXPORT(conveyor_init) uint64_t conveyor_init(uint32_t ptr, uint32_t len) {              \
        return cv__init(&(p), ptr, len);                                                        \
    }                                                                                           \
    CV__EXPORT(conveyor_close) void conveyor_close(void) { cv__close(&(p)); }

#define CV__EXPORT_PROCESS(p)                                                                   \
    CV__EXPORT(conveyor_process) uint64_t conveyor_process(uint32_t ptr, uint32_t len) {        \
        return cv__process(&(p), ptr, len);                                                     \
    }

#define CV__EXPORT_LOOKUP(p)                                                                    \
    CV__EXPORT(conveyor_lookup) uint64_t conveyor_lookup(uint32_t ptr, uint32_t len) {          \
        return cv__lookup(&(p), ptr, len);                                                      \
    }

/* Export the ABI functions for plugin p (a cv_plugin), once per module. */
#define CONVEYOR_EXPORT_TRANSFORM(p) CV__EXPORT_COMMON(p) CV__EXPORT_PROCESS(p)
#define CONVEYOR_EXPORT_LOOKUP(p) CV__EXPORT_COMMON(p) CV__EXPORT_LOOKUP(p)
#define CONVEYOR_EXPORT_TRANSFORM_AND_LOOKUP(p) CV__EXPORT_COMMON(p) CV__EXPORT_PROCESS(p) CV__EXPORT_LOOKUP(p)
#else
/* Natively there are no exports: tests drive the plugin with cv_test_*. */
#define CV__NATIVE(p) static const cv_plugin *const cv__native_plugin __attribute__((unused)) = &(p);
#define CONVEYOR_EXPORT_TRANSFORM(p) CV__NATIVE(p)
#define CONVEYOR_EXPORT_LOOKUP(p) CV__NATIVE(p)
#define CONVEYOR_EXPORT_TRANSFORM_AND_LOOKUP(p) CV__NATIVE(p)

/*
 * Native unit tests (not under wasm32): a stand-in host with a config, a
 * pinned clock, captured logs and counters, and functions that drive a
 * plugin through the same frame code the Wasm exports use. Build the test
 * with the host compiler: `clang -I sdk/c -o t t.c && ./t`, where t.c
 * includes the plugin's .c file (for its `plugin`) and calls these.
 */
void cv_test_reset(void); /* empty config, no logs or counters */
void cv_test_config(const char *key, const char *value);
void cv_test_set_clock(int64_t unix_nanos);
int64_t cv_test_counter(const char *name);
uint32_t cv_test_log_count(void);
const char *cv_test_log(uint32_t i, int *level); /* NUL-terminated */
/* conveyor_init with the stand-in host's config: NULL or the error text. */
const char *cv_test_init(const cv_plugin *p);
typedef struct {
    uint8_t kind;      /* 0 record, 1 drop, 2 error */
    uint32_t input;
    cv_record record;  /* kind 0 */
    cv_bytes message;  /* kind 2 */
} cv_test_entry;
/* One batch; *out is valid until the next call. Traps on an output frame
 * that does not decode strictly. */
uint32_t cv_test_process(const cv_plugin *p, const cv_record *in, uint32_t n, const cv_test_entry **out);
typedef struct {
    int hit;
    cv_bytes row;
} cv_test_result;
uint32_t cv_test_lookup(const cv_plugin *p, const cv_bytes *keys, uint32_t n, const cv_test_result **out);
void cv_test_close(const cv_plugin *p);
#endif

#ifdef __cplusplus
}
#endif

#endif /* CONVEYOR_H */

/* ------------------------------------------------------------------------ */

#ifdef CONVEYOR_IMPLEMENTATION
#ifndef CONVEYOR_IMPLEMENTATION_DONE
#define CONVEYOR_IMPLEMENTATION_DONE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __wasm__
#define CV__IMPORT(name) __attribute__((import_module("conveyor"), import_name(#name)))
CV__IMPORT(log_v1) void cv__log_v1(int32_t level, uint32_t ptr, uint32_t len);
CV__IMPORT(config_get_v1) int32_t cv__config_get_v1(uint32_t kp, uint32_t kl, uint32_t op, uint32_t oc);
CV__IMPORT(clock_now_v1) int64_t cv__clock_now_v1(void);
CV__IMPORT(metric_add_v1) void cv__metric_add_v1(uint32_t np, uint32_t nl, int64_t delta);
#define CV__PTR(p) ((uint32_t)(uintptr_t)(p))
#endif

/* ---- traps and buffers ---- */

void cv_trap(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("conveyor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    __builtin_trap();
}

void cv_buf_reserve(cv_buf *b, size_t extra) {
    if (b->cap - b->len >= extra)
        return;
    if (extra > SIZE_MAX / 2 - b->len)
        cv_trap("out of memory: buffer of %zu + %zu bytes", b->len, extra);
    size_t n = b->cap ? b->cap : 256;
    while (n - b->len < extra)
        n *= 2;
    uint8_t *d = (uint8_t *)realloc(b->data, n);
    if (!d)
        cv_trap("out of memory allocating %zu bytes", n);
    b->data = d;
    b->cap = n;
}

void cv_buf_append(cv_buf *b, const void *p, size_t n) {
    cv_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void cv_buf_append_str(cv_buf *b, const char *s) { cv_buf_append(b, s, strlen(s)); }

void cv_buf_free(cv_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void cv__u8(cv_buf *b, uint8_t v) { cv_buf_append(b, &v, 1); }

static void cv__u32(cv_buf *b, size_t v) {
    uint8_t x[4];
    if (v > UINT32_MAX)
        cv_trap("length %zu does not fit in a u32", v);
    x[0] = (uint8_t)v, x[1] = (uint8_t)(v >> 8), x[2] = (uint8_t)(v >> 16), x[3] = (uint8_t)(v >> 24);
    cv_buf_append(b, x, 4);
}

static void cv__i64(cv_buf *b, int64_t s) {
    uint64_t v = (uint64_t)s;
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    cv_buf_append(b, x, 8);
}

static void cv__bytes(cv_buf *b, const void *p, size_t n) {
    cv__u32(b, n);
    cv_buf_append(b, p, n);
}

static void cv__header(cv_buf *b, uint8_t kind) {
    static const uint8_t magic[4] = {'C', 'V', 'Y', 'B'};
    b->len = 0;
    cv_buf_append(b, magic, 4);
    cv__u8(b, CV_ABI_MAJOR), cv__u8(b, 0); /* major, u16 */
    cv__u8(b, CV_ABI_MINOR), cv__u8(b, 0); /* minor, u16 */
    cv__u8(b, kind);
    cv__u8(b, 0);                          /* flags */
    cv__u8(b, 0), cv__u8(b, 0);            /* reserved, u16 */
    cv__u32(b, 0);                         /* count, patched by cv__set_count */
}

static void cv__set_count(cv_buf *b, uint32_t n) {
    b->data[12] = (uint8_t)n, b->data[13] = (uint8_t)(n >> 8);
    b->data[14] = (uint8_t)(n >> 16), b->data[15] = (uint8_t)(n >> 24);
}

static void cv__record(cv_buf *b, const cv_record *r) {
    cv__u8(b, r->has_event_time ? 1 : 0);
    cv__i64(b, r->has_event_time ? r->event_time : 0);
    cv__bytes(b, r->key.ptr, r->key.len);
    cv__bytes(b, r->payload.ptr, r->payload.len);
    cv__u32(b, r->metadata_len);
    for (uint32_t i = 0; i < r->metadata_len; i++) {
        cv__bytes(b, r->metadata[i].key.ptr, r->metadata[i].key.len);
        cv__bytes(b, r->metadata[i].value.ptr, r->metadata[i].value.len);
    }
}

/* ---- strict decoding (ABI.md section 6.6) ---- */

typedef struct {
    const uint8_t *p;
    size_t n, off;
    const char *frame;
} cv__reader;

__attribute__((noreturn)) static void cv__bad(const cv__reader *r, size_t off, const char *why) {
    cv_trap("invalid %s frame: offset %zu: %s", r->frame, off, why);
}

static uint32_t cv__le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t cv__rd32(cv__reader *r, const char *what) {
    if (r->n - r->off < 4)
        cv__bad(r, r->off, what);
    uint32_t v = cv__le32(r->p + r->off);
    r->off += 4;
    return v;
}

static cv_bytes cv__rdbytes(cv__reader *r, const char *what) {
    size_t start = r->off;
    uint32_t n = cv__rd32(r, what);
    if (n > r->n - r->off)
        cv__bad(r, start, what);
    cv_bytes b = {r->p + r->off, n};
    r->off += n;
    return b;
}

static uint32_t cv__count(cv__reader *r, const char *what, size_t min) {
    size_t start = r->off;
    uint32_t n = cv__rd32(r, what);
    if ((uint64_t)n * min > r->n - r->off)
        cv__bad(r, start, what);
    return n;
}

static uint32_t cv__rdheader(cv__reader *r, uint8_t kind, size_t min) {
    if (r->n < 16)
        cv__bad(r, r->n, "truncated header");
    if (memcmp(r->p, "CVYB", 4) != 0)
        cv__bad(r, 0, "bad magic");
    if ((r->p[4] | r->p[5] << 8) != CV_ABI_MAJOR)
        cv__bad(r, 4, "unsupported major version");
    if (r->p[8] != kind)
        cv__bad(r, 8, "wrong frame kind");
    if (r->p[9] != 0)
        cv__bad(r, 9, "unknown header flags");
    if (r->p[10] != 0 || r->p[11] != 0)
        cv__bad(r, 10, "non-zero reserved field");
    r->off = 12;
    return cv__count(r, kind == 1 ? "record count" : "key count", min);
}

static void cv__end(const cv__reader *r) {
    if (r->off != r->n)
        cv__bad(r, r->off, "trailing bytes");
}

/* ---- config ---- */

struct cv_config {
    uint32_t n;
    cv_bytes *keys, *values;
};

static cv_config cv__cfg;

int cv_config_get(const cv_config *c, const char *key, cv_bytes *value) {
    size_t kl = strlen(key);
    uint32_t lo = 0, hi = c->n;
    while (lo < hi) { /* keys are sorted: binary search */
        uint32_t mid = lo + (hi - lo) / 2;
        const cv_bytes *k = &c->keys[mid];
        size_t m = k->len < kl ? k->len : kl;
        int cmp = m ? memcmp(k->ptr, key, m) : 0;
        if (cmp == 0)
            cmp = k->len < kl ? -1 : k->len > kl ? 1 : 0;
        if (cmp == 0) {
            if (value)
                *value = c->values[mid];
            return 1;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

uint32_t cv_config_len(const cv_config *c) { return c->n; }

void cv_config_at(const cv_config *c, uint32_t i, cv_bytes *key, cv_bytes *value) {
    if (i >= c->n)
        cv_trap("cv_config_at(%u) of %u entries", i, c->n);
    *key = c->keys[i];
    *value = c->values[i];
}

char *cv_config_strdup(const cv_config *c, const char *key) {
    cv_bytes v;
    if (!cv_config_get(c, key, &v))
        return NULL;
    char *s = (char *)malloc((size_t)v.len + 1);
    if (!s)
        cv_trap("out of memory");
    if (v.len)
        memcpy(s, v.ptr, v.len);
    s[v.len] = 0;
    return s;
}

/* Decodes the config frame into cv__cfg; returns NULL or an error text (the
 * host then fails the load with it, as the Go SDK does). */
static const char *cv__decode_config(const uint8_t *p, size_t n) {
    static char err[160];
#define CV__CFG_FAIL(off, why)                                                                     \
    do {                                                                                           \
        snprintf(err, sizeof err, "conveyor: decode config: invalid config frame: offset %zu: %s", \
                 (size_t)(off), why);                                                              \
        return err;                                                                                \
    } while (0)
    if (n < 12)
        CV__CFG_FAIL(n, "truncated header");
    if (memcmp(p, "CVYC", 4) != 0)
        CV__CFG_FAIL(0, "bad magic");
    if ((p[4] | p[5] << 8) != CV_ABI_MAJOR)
        CV__CFG_FAIL(4, "unsupported major version");
    uint32_t count = cv__le32(p + 8);
    if ((uint64_t)count * 8 > n - 12)
        CV__CFG_FAIL(8, "entry count exceeds the frame");
    /* The config frame lives in the alloc buffer, which the next frame
     * overwrites: keep a private copy. */
    uint8_t *copy = (uint8_t *)malloc(n);
    cv_bytes *kv = (cv_bytes *)malloc(2 * sizeof(cv_bytes) * (count ? count : 1));
    if (!copy || !kv)
        cv_trap("out of memory decoding the config");
    memcpy(copy, p, n);
    size_t off = 12;
    for (uint32_t i = 0; i < count; i++) {
        size_t start = off;
        for (int j = 0; j < 2; j++) {
            size_t at = off;
            if (n - off < 4)
                CV__CFG_FAIL(at, j ? "truncated value length" : "truncated key length");
            uint32_t len = cv__le32(copy + off);
            off += 4;
            if (len > n - off)
                CV__CFG_FAIL(at, j ? "value past end of frame" : "key past end of frame");
            kv[j ? count + i : i] = (cv_bytes){copy + off, len};
            off += len;
        }
        if (i > 0) {
            cv_bytes a = kv[i - 1], b = kv[i];
            size_t m = a.len < b.len ? a.len : b.len;
            int cmp = m ? memcmp(a.ptr, b.ptr, m) : 0;
            if (cmp > 0 || (cmp == 0 && a.len >= b.len))
                CV__CFG_FAIL(start, "keys must be unique and sorted");
        }
    }
    if (off != n)
        CV__CFG_FAIL(off, "trailing bytes");
#undef CV__CFG_FAIL
    cv__cfg.n = count;
    cv__cfg.keys = kv;
    cv__cfg.values = kv + count;
    return NULL;
}

/* ---- alloc, init, close ---- */

#ifdef __wasm__
static uint8_t *cv__in;
static size_t cv__in_cap;
#endif
static cv_buf cv__outbuf;
static char cv__msg[1024];
static int cv__ready;

#ifdef __wasm__
uint32_t cv__alloc(uint32_t size) {
    if (cv__in == NULL || cv__in_cap < size) {
        size_t n = cv__in_cap ? 2 * cv__in_cap : 64 << 10;
        while (n < size)
            n *= 2;
        free(cv__in);
        cv__in = (uint8_t *)malloc(n);
        if (!cv__in)
            cv_trap("out of memory: conveyor_alloc(%u)", size);
        cv__in_cap = n;
    }
    return CV__PTR(cv__in);
}

static const uint8_t *cv__frame(uint32_t ptr, uint32_t len) {
    uintptr_t base = (uintptr_t)cv__in, p = ptr;
    if (cv__in == NULL || p < base || (uint64_t)(p - base) + len > cv__in_cap)
        cv_trap("frame at %#x+%u lies outside the conveyor_alloc buffer", ptr, len);
    return (const uint8_t *)p;
}

static uint64_t cv__pack(const void *p, size_t n) { return (uint64_t)CV__PTR(p) << 32 | (uint32_t)n; }

uint64_t cv__init(const cv_plugin *p, uint32_t ptr, uint32_t len) {
    const char *err = cv__init_frame(p, cv__frame(ptr, len), len);
    return err ? cv__pack(err, strlen(err)) : 0;
}

uint64_t cv__process(const cv_plugin *p, uint32_t ptr, uint32_t len) {
    const cv_buf *b = cv__process_frame(p, cv__frame(ptr, len), len);
    return cv__pack(b->data, b->len);
}

uint64_t cv__lookup(const cv_plugin *p, uint32_t ptr, uint32_t len) {
    const cv_buf *b = cv__lookup_frame(p, cv__frame(ptr, len), len);
    return cv__pack(b->data, b->len);
}
#endif

const char *cv_errorf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cv__msg, sizeof cv__msg, fmt, ap);
    va_end(ap);
    return cv__msg;
}

/* Decodes the config and runs init; returns NULL or a non-empty,
 * NUL-terminated error text that stays valid until the next call. */
const char *cv__init_frame(const cv_plugin *p, const uint8_t *frame, size_t len) {
    const char *err = cv__decode_config(frame, len);
    if (!err && p->init)
        err = p->init(&cv__cfg);
    if (err) {
        static cv_buf msg;
        if (*err == 0) /* empty: pointer and length 0 would read as success */
            err = "init failed with an empty error";
        msg.len = 0;
        cv_buf_append(&msg, err, strlen(err) + 1);
        return (const char *)msg.data;
    }
    cv__ready = 1;
    return NULL;
}

void cv__close(const cv_plugin *p) {
    if (cv__ready && p->close)
        p->close();
    cv__ready = 0;
}

/* ---- transform ---- */

struct cv_output {
    cv_buf *buf;
    uint32_t count, inputs;
    const cv_plugin *plugin;
};

struct cv_emitter {
    cv_output *out;
    uint32_t input;
    int failed;
    cv_buf msg;
};

static void cv__entry(cv_output *o, uint8_t kind, uint32_t input) {
    if (input >= o->inputs)
        cv_trap("output for input %u of a batch of %u", input, o->inputs);
    cv__u8(o->buf, kind);
    cv__u32(o->buf, input);
    o->count++;
}

void cv_out_emit(cv_output *o, uint32_t input, const cv_record *r) {
    cv__entry(o, 0, input);
    cv__record(o->buf, r);
}

void cv_out_drop(cv_output *o, uint32_t input) { cv__entry(o, 1, input); }

void cv_out_error(cv_output *o, uint32_t input, const char *msg, size_t len) {
    if (len == 0) {
        msg = "transform failed with an empty error";
        len = strlen(msg);
    }
    cv__entry(o, 2, input);
    cv__bytes(o->buf, msg, len);
}

void cv_emit(cv_emitter *e, const cv_record *r) { cv_out_emit(e->out, e->input, r); }

uint32_t cv_input(const cv_emitter *e) { return e->input; }

int cv_fail(cv_emitter *e, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    e->msg.len = 0;
    if (n >= (int)sizeof tmp) { /* long message: format again into the buffer */
        cv_buf_reserve(&e->msg, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf((char *)e->msg.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        e->msg.len = (size_t)n;
    } else if (n > 0) {
        cv_buf_append(&e->msg, tmp, (size_t)n);
    }
    e->failed = 1;
    return -1;
}

static cv_emitter cv__em;

void cv_out_record(cv_output *o, uint32_t input, const cv_record *r) {
    if (!o->plugin->process)
        cv_trap("cv_out_record: the plugin has no process callback");
    size_t mark = o->buf->len;
    uint32_t count = o->count;
    cv__em.out = o, cv__em.input = input, cv__em.failed = 0, cv__em.msg.len = 0;
    int rc = o->plugin->process(r, &cv__em);
    if (rc != 0 || cv__em.failed) {
        o->buf->len = mark;
        o->count = count;
        cv_out_error(o, input, (const char *)cv__em.msg.data, cv__em.msg.len);
    }
}

const cv_buf *cv__process_frame(const cv_plugin *p, const uint8_t *frame, size_t len) {
    static cv_record *recs;
    static size_t recs_cap;
    static cv_kv *kvs;
    static size_t kvs_cap;
    if (!cv__ready)
        cv_trap("conveyor_process called before a successful conveyor_init");
    cv__reader r = {frame, len, 0, "input batch"};
    uint32_t n = cv__rdheader(&r, 1, 21);
    if (n > recs_cap) {
        free(recs);
        recs = (cv_record *)malloc(n * sizeof *recs);
        if (!recs)
            cv_trap("out of memory decoding a batch of %u records", n);
        recs_cap = n;
    }
    /* Pass 1 decodes records and counts metadata; pass 2 fills metadata. */
    size_t md_total = 0;
    for (uint32_t i = 0; i < n; i++) {
        cv_record *rec = &recs[i];
        size_t start = r.off;
        if (r.n - r.off < 9)
            cv__bad(&r, start, "truncated record");
        uint8_t flags = r.p[r.off];
        uint64_t t = 0;
        for (int b = 0; b < 8; b++)
            t |= (uint64_t)r.p[r.off + 1 + b] << (8 * b);
        r.off += 9;
        if (flags & ~1u)
            cv__bad(&r, start, "unknown record flags");
        if (!(flags & 1) && t != 0)
            cv__bad(&r, start + 1, "event time set without the event-time flag");
        rec->has_event_time = flags & 1;
        rec->event_time = (int64_t)t;
        rec->key = cv__rdbytes(&r, "key");
        rec->payload = cv__rdbytes(&r, "payload");
        uint32_t m = cv__count(&r, "metadata count", 8);
        rec->metadata_len = m;
        rec->metadata = (const cv_kv *)(uintptr_t)(r.off); /* patched below */
        for (uint32_t j = 0; j < m; j++) {
            cv__rdbytes(&r, "metadata key");
            cv__rdbytes(&r, "metadata value");
        }
        md_total += m;
    }
    cv__end(&r);
    if (md_total > kvs_cap) {
        free(kvs);
        kvs = (cv_kv *)malloc(md_total * sizeof *kvs);
        if (!kvs)
            cv_trap("out of memory decoding metadata");
        kvs_cap = md_total;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        cv__reader m = {r.p, r.n, (size_t)(uintptr_t)recs[i].metadata, "input batch"};
        recs[i].metadata = kvs + k;
        for (uint32_t j = 0; j < recs[i].metadata_len; j++, k++) {
            kvs[k].key = cv__rdbytes(&m, "metadata key");
            kvs[k].value = cv__rdbytes(&m, "metadata value");
        }
    }
    cv_output o = {&cv__outbuf, 0, n, p};
    cv__header(o.buf, 2);
    if (p->process_batch) {
        p->process_batch(recs, n, &o);
    } else {
        for (uint32_t i = 0; i < n; i++)
            cv_out_record(&o, i, &recs[i]);
    }
    cv__set_count(o.buf, o.count);
    return o.buf;
}

/* ---- lookup ---- */

struct cv_lookup_output {
    cv_buf *buf;
    uint32_t answered, keys;
};

void cv_hit(cv_lookup_output *o, const void *row, size_t len) {
    if (o->answered >= o->keys)
        cv_trap("lookup answered more than %u keys", o->keys);
    o->answered++;
    cv__u8(o->buf, 1);
    cv__bytes(o->buf, row, len);
}

void cv_miss(cv_lookup_output *o) {
    if (o->answered >= o->keys)
        cv_trap("lookup answered more than %u keys", o->keys);
    o->answered++;
    cv__u8(o->buf, 0);
}

const cv_buf *cv__lookup_frame(const cv_plugin *p, const uint8_t *frame, size_t len) {
    static cv_bytes *keys;
    static size_t keys_cap;
    static cv_buf row;
    if (!cv__ready)
        cv_trap("conveyor_lookup called before a successful conveyor_init");
    cv__reader r = {frame, len, 0, "lookup request"};
    uint32_t n = cv__rdheader(&r, 3, 4);
    if (n > keys_cap) {
        free(keys);
        keys = (cv_bytes *)malloc(n * sizeof *keys);
        if (!keys)
            cv_trap("out of memory decoding %u lookup keys", n);
        keys_cap = n;
    }
    for (uint32_t i = 0; i < n; i++)
        keys[i] = cv__rdbytes(&r, "key");
    cv__end(&r);
    cv_lookup_output o = {&cv__outbuf, 0, n};
    cv__header(o.buf, 4);
    if (p->lookup_batch) {
        p->lookup_batch(keys, n, &o);
    } else if (p->lookup) {
        for (uint32_t i = 0; i < n; i++) {
            row.len = 0;
            if (p->lookup(keys[i], &row))
                cv_hit(&o, row.data, row.len);
            else
                cv_miss(&o);
        }
    } else {
        cv_trap("conveyor_lookup: the plugin has no lookup callback");
    }
    if (o.answered != n)
        cv_trap("lookup answered %u of %u keys", o.answered, n);
    cv__set_count(o.buf, n);
    return o.buf;
}

/* ---- host functions ---- */

void cv_logf(int level, const char *fmt, ...) {
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    cv_log(level, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

#ifdef __wasm__
void cv_log(int level, const void *msg, size_t len) { cv__log_v1(level, CV__PTR(msg), (uint32_t)len); }

void cv_counter(const char *name, int64_t delta) { cv__metric_add_v1(CV__PTR(name), (uint32_t)strlen(name), delta); }

int64_t cv_now(void) { return cv__clock_now_v1(); }

int32_t cv_host_config(const char *key, void *buf, size_t cap) {
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    return cv__config_get_v1(CV__PTR(key), (uint32_t)strlen(key), CV__PTR(buf), (uint32_t)cap);
}
#else
/* The stand-in host of native unit tests. */
static struct {
    char **keys, **values; /* sorted by key */
    size_t n;
    char **logs;
    int *levels;
    size_t nlogs;
    char **counter_names;
    int64_t *counters;
    size_t ncounters;
    int64_t clock;
} cv__fake = {.clock = 1700000000000000000};

static char *cv__strdup(const char *s, size_t n) {
    char *d = (char *)malloc(n + 1);
    if (!d)
        cv_trap("out of memory");
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void *cv__grow(void *p, size_t n, size_t size) {
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q)
        cv_trap("out of memory");
    return q;
}

void cv_test_reset(void) {
    for (size_t i = 0; i < cv__fake.n; i++)
        free(cv__fake.keys[i]), free(cv__fake.values[i]);
    for (size_t i = 0; i < cv__fake.nlogs; i++)
        free(cv__fake.logs[i]);
    for (size_t i = 0; i < cv__fake.ncounters; i++)
        free(cv__fake.counter_names[i]);
    cv__fake.n = cv__fake.nlogs = cv__fake.ncounters = 0;
}

void cv_test_config(const char *key, const char *value) {
    size_t i = 0;
    while (i < cv__fake.n && strcmp(cv__fake.keys[i], key) < 0)
        i++;
    if (i < cv__fake.n && strcmp(cv__fake.keys[i], key) == 0) {
        free(cv__fake.values[i]);
        cv__fake.values[i] = cv__strdup(value, strlen(value));
        return;
    }
    cv__fake.keys = (char **)cv__grow(cv__fake.keys, cv__fake.n + 1, sizeof(char *));
    cv__fake.values = (char **)cv__grow(cv__fake.values, cv__fake.n + 1, sizeof(char *));
    memmove(cv__fake.keys + i + 1, cv__fake.keys + i, (cv__fake.n - i) * sizeof(char *));
    memmove(cv__fake.values + i + 1, cv__fake.values + i, (cv__fake.n - i) * sizeof(char *));
    cv__fake.keys[i] = cv__strdup(key, strlen(key));
    cv__fake.values[i] = cv__strdup(value, strlen(value));
    cv__fake.n++;
}

void cv_test_set_clock(int64_t t) { cv__fake.clock = t; }

int64_t cv_test_counter(const char *name) {
    for (size_t i = 0; i < cv__fake.ncounters; i++)
        if (strcmp(cv__fake.counter_names[i], name) == 0)
            return cv__fake.counters[i];
    return 0;
}

uint32_t cv_test_log_count(void) { return (uint32_t)cv__fake.nlogs; }

const char *cv_test_log(uint32_t i, int *level) {
    if (i >= cv__fake.nlogs)
        return NULL;
    if (level)
        *level = cv__fake.levels[i];
    return cv__fake.logs[i];
}

void cv_log(int level, const void *msg, size_t len) {
    cv__fake.logs = (char **)cv__grow(cv__fake.logs, cv__fake.nlogs + 1, sizeof(char *));
    cv__fake.levels = (int *)cv__grow(cv__fake.levels, cv__fake.nlogs + 1, sizeof(int));
    cv__fake.logs[cv__fake.nlogs] = cv__strdup((const char *)msg, len);
    cv__fake.levels[cv__fake.nlogs++] = level;
}

void cv_counter(const char *name, int64_t delta) {
    for (size_t i = 0; i < cv__fake.ncounters; i++) {
        if (strcmp(cv__fake.counter_names[i], name) == 0) {
            cv__fake.counters[i] += delta;
            return;
        }
    }
    size_t n = cv__fake.ncounters;
    cv__fake.counter_names = (char **)cv__grow(cv__fake.counter_names, n + 1, sizeof(char *));
    cv__fake.counters = (int64_t *)cv__grow(cv__fake.counters, n + 1, sizeof(int64_t));
    cv__fake.counter_names[n] = cv__strdup(name, strlen(name));
    cv__fake.counters[n] = delta;
    cv__fake.ncounters++;
}

int64_t cv_now(void) { return cv__fake.clock; }

int32_t cv_host_config(const char *key, void *buf, size_t cap) {
    for (size_t i = 0; i < cv__fake.n; i++) {
        if (strcmp(cv__fake.keys[i], key) == 0) {
            size_t n = strlen(cv__fake.values[i]);
            if (n <= cap && n)
                memcpy(buf, cv__fake.values[i], n);
            return (int32_t)n;
        }
    }
    return -1;
}

const char *cv_test_init(const cv_plugin *p) {
    static cv_buf f;
    static const uint8_t magic[4] = {'C', 'V', 'Y', 'C'};
    f.len = 0;
    cv_buf_append(&f, magic, 4);
    cv__u8(&f, CV_ABI_MAJOR), cv__u8(&f, 0), cv__u8(&f, CV_ABI_MINOR), cv__u8(&f, 0);
    cv__u32(&f, cv__fake.n);
    for (size_t i = 0; i < cv__fake.n; i++) {
        cv__bytes(&f, cv__fake.keys[i], strlen(cv__fake.keys[i]));
        cv__bytes(&f, cv__fake.values[i], strlen(cv__fake.values[i]));
    }
    return cv__init_frame(p, f.data, f.len);
}

uint32_t cv_test_process(const cv_plugin *p, const cv_record *in, uint32_t n, const cv_test_entry **out) {
    static cv_buf f;
    static cv_test_entry *entries;
    static cv_kv *kvs;
    cv__header(&f, 1);
    for (uint32_t i = 0; i < n; i++)
        cv__record(&f, &in[i]);
    cv__set_count(&f, n);
    const cv_buf *o = cv__process_frame(p, f.data, f.len);
    /* Decode the output strictly (copying it: the next call reuses it). */
    static cv_buf copy;
    copy.len = 0;
    cv_buf_append(&copy, o->data, o->len);
    cv__reader r = {copy.data, copy.len, 0, "output batch"};
    uint32_t count = cv__rdheader(&r, 2, 5);
    entries = (cv_test_entry *)cv__grow(entries, count, sizeof *entries);
    size_t md_total = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0 counts metadata */
        size_t k = 0;
        r.off = 16;
        if (pass == 1)
            kvs = (cv_kv *)cv__grow(kvs, md_total, sizeof *kvs);
        for (uint32_t i = 0; i < count; i++) {
            cv_test_entry *e = &entries[i];
            memset(e, 0, sizeof *e);
            if (r.n - r.off < 5)
                cv__bad(&r, r.off, "truncated entry");
            e->kind = r.p[r.off];
            e->input = cv__le32(r.p + r.off + 1);
            if (e->input >= n)
                cv__bad(&r, r.off + 1, "input index out of range");
            r.off += 5;
            if (e->kind == 2) {
                e->message = cv__rdbytes(&r, "error message");
            } else if (e->kind == 0) {
                size_t start = r.off;
                if (r.n - r.off < 9)
                    cv__bad(&r, start, "truncated record");
                uint8_t flags = r.p[r.off];
                uint64_t t = 0;
                for (int b = 0; b < 8; b++)
                    t |= (uint64_t)r.p[r.off + 1 + b] << (8 * b);
                r.off += 9;
                if ((flags & ~1u) || (!(flags & 1) && t))
                    cv__bad(&r, start, "bad record flags or event time");
                e->record.has_event_time = flags & 1;
                e->record.event_time = (int64_t)t;
                e->record.key = cv__rdbytes(&r, "key");
                e->record.payload = cv__rdbytes(&r, "payload");
                e->record.metadata_len = cv__count(&r, "metadata count", 8);
                e->record.metadata = pass ? kvs + k : NULL;
                for (uint32_t j = 0; j < e->record.metadata_len; j++, k++) {
                    cv_bytes mk = cv__rdbytes(&r, "metadata key"), mv = cv__rdbytes(&r, "metadata value");
                    if (pass)
                        kvs[k] = (cv_kv){mk, mv};
                }
            } else if (e->kind != 1) {
                cv__bad(&r, r.off - 5, "unknown entry kind");
            }
        }
        cv__end(&r);
        md_total = k;
    }
    *out = entries;
    return count;
}

uint32_t cv_test_lookup(const cv_plugin *p, const cv_bytes *keys, uint32_t n, const cv_test_result **out) {
    static cv_buf f, copy;
    static cv_test_result *res;
    cv__header(&f, 3);
    for (uint32_t i = 0; i < n; i++)
        cv__bytes(&f, keys[i].ptr, keys[i].len);
    cv__set_count(&f, n);
    const cv_buf *o = cv__lookup_frame(p, f.data, f.len);
    copy.len = 0;
    cv_buf_append(&copy, o->data, o->len);
    cv__reader r = {copy.data, copy.len, 0, "lookup result"};
    uint32_t count = cv__rdheader(&r, 4, 1);
    if (count != n)
        cv__bad(&r, 12, "result count differs from the key count");
    res = (cv_test_result *)cv__grow(res, n, sizeof *res);
    for (uint32_t i = 0; i < n; i++) {
        if (r.off >= r.n)
            cv__bad(&r, r.off, "truncated result");
        uint8_t kind = r.p[r.off++];
        if (kind > 1)
            cv__bad(&r, r.off - 1, "unknown result kind");
        res[i].hit = kind;
        res[i].row = kind ? cv__rdbytes(&r, "row") : (cv_bytes){NULL, 0};
    }
    cv__end(&r);
    *out = res;
    return n;
}

void cv_test_close(const cv_plugin *p) { cv__close(p); }
#endif

#endif /* CONVEYOR_IMPLEMENTATION_DONE */
#endif /* CONVEYOR_IMPLEMENTATION */
