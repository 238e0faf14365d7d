/*
 * pii-redactor, in C: replaces the values of configured JSON fields with
 * "[REDACTED]" (or config "replacement") and keeps the rest of the payload.
 * It produces the same bytes as the Go example
 * (examples/plugins/pii-redactor), whose JSON library json.c mirrors.
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -s -I ../.. -o pii-redactor.wasm redactor.c json.c
 */
#define CONVEYOR_IMPLEMENTATION
#include "conveyor.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

#define DEFAULT_REPLACEMENT "[REDACTED]"

/* One field path, split at dots. */
typedef struct {
    char **seg;
    size_t n;
} path;

static path *paths;
static size_t npaths;
static cv_bytes replacement;
static cv_buf out_buf; /* reused across records: one record at a time */

static int is_space(const char *s, size_t *w) {
    /* Go's unicode.IsSpace, for strings.TrimSpace. */
    unsigned char c = (unsigned char)s[0];
    if (c == ' ' || (c >= '\t' && c <= '\r')) {
        *w = 1;
        return 1;
    }
    static const char *const wide[] = {"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                       "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        size_t n = strlen(wide[i]);
        if (strncmp(s, wide[i], n) == 0) {
            *w = n;
            return 1;
        }
    }
    if (strncmp(s, "\xe2\x80", 2) == 0 && (unsigned char)s[2] >= 0x80 && (unsigned char)s[2] <= 0x8a) {
        *w = 3; /* U+2000..U+200A */
        return 1;
    }
    return 0;
}

/* Trims s[0:n] in place (Go's strings.TrimSpace); returns the new start. */
static char *trim(char *s, size_t *n) {
    size_t w;
    while (*n && is_space(s, &w) && w <= *n)
        s += w, *n -= w;
    for (;;) {
        int cut = 0;
        for (size_t k = 1; k <= 3 && k <= *n; k++) {
            char tmp[4] = {0};
            memcpy(tmp, s + *n - k, k);
            if (is_space(tmp, &w) && w == k) {
                *n -= k;
                cut = 1;
                break;
            }
        }
        if (!cut)
            return s;
    }
}

static char *strndup0(const char *s, size_t n) {
    char *d = (char *)malloc(n + 1);
    if (!d)
        cv_trap("out of memory");
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Splits "email, user.phone" into [[email] [user phone]]. */
static const char *parse_paths(const char *list) {
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *f = strndup0(p, n);
        char *t = trim(f, &n);
        if (n > 0) {
            path pa = {NULL, 0};
            const char *q = t, *end = t + n;
            for (;;) {
                const char *dot = memchr(q, '.', (size_t)(end - q));
                size_t m = dot ? (size_t)(dot - q) : (size_t)(end - q);
                if (m == 0) {
                    cv_buf q = {0};
                    json_quote(&q, (const uint8_t *)t, n);
                    return cv_errorf("config \"fields\": field path %.*s has an empty segment", (int)q.len, (char *)q.data);
                }
                pa.seg = (char **)realloc(pa.seg, (pa.n + 1) * sizeof *pa.seg);
                pa.seg[pa.n++] = strndup0(q, m);
                if (!dot)
                    break;
                q = dot + 1;
            }
            paths = (path *)realloc(paths, (npaths + 1) * sizeof *paths);
            paths[npaths++] = pa;
        }
        free(f);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (npaths == 0)
        return "config \"fields\": required: a comma-separated list of JSON field paths such as \"email,user.phone\"";
    return NULL;
}

static const char *init(const cv_config *cfg) {
    char *fields = cv_config_strdup(cfg, "fields");
    const char *err = parse_paths(fields ? fields : "");
    free(fields);
    if (err)
        return err;
    /* The config frame is copied by the SDK and lives as long as the
     * instance: borrowing the value is fine. */
    if (!cv_config_get(cfg, "replacement", &replacement))
        replacement = (cv_bytes){(const uint8_t *)DEFAULT_REPLACEMENT, (uint32_t)strlen(DEFAULT_REPLACEMENT)};
    return NULL;
}

/* Replaces every configured field present in the payload. A payload
 * without any of them is emitted byte for byte unchanged. */
static int process(const cv_record *r, cv_emitter *out) {
    json_doc *doc;
    const char *err = json_parse(&doc, r->payload.ptr, r->payload.len);
    if (err) {
        json_free(doc);
        return cv_fail(out, "payload is not JSON: %s", err);
    }
    int64_t n = 0;
    for (size_t i = 0; i < npaths; i++) {
        const path *p = &paths[i];
        size_t parent = json_get(doc, JSON_ROOT, (const char *const *)p->seg, p->n - 1);
        if (parent == JSON_NONE)
            continue;
        const char *last = p->seg[p->n - 1];
        if (json_get(doc, parent, &last, 1) == JSON_NONE)
            continue;
        json_set_string(doc, parent, last, (const char *)replacement.ptr, replacement.len);
        n++;
    }
    if (n == 0) {
        json_free(doc);
        cv_emit(out, r);
        return 0;
    }
    out_buf.len = 0;
    json_marshal(doc, &out_buf);
    json_free(doc);
    cv_counter("fields_redacted", n);
    cv_record o = *r;
    o.payload = (cv_bytes){out_buf.data, (uint32_t)out_buf.len};
    cv_emit(out, &o);
    return 0;
}

static const cv_plugin plugin = {.init = init, .process = process};

CONVEYOR_EXPORT_TRANSFORM(plugin)
