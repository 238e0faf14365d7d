/* A port of the parts of fastjson v1.6 the redactor uses; see json.h. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 300 /* fastjson.MaxDepth */

enum { J_OBJECT, J_ARRAY, J_RAWSTR, J_STR, J_NUMBER, J_TRUE, J_FALSE, J_NULL };

typedef struct {
    const uint8_t *p; /* key bytes: raw, or owned once unescaped */
    size_t n;
    uint8_t *owned;
    size_t val;
} json_kv;

typedef struct {
    int type;
    const uint8_t *s; /* raw string, number: source text; J_STR: owned */
    size_t n;
    uint8_t *owned;
    json_kv *kvs; /* J_OBJECT */
    size_t *items; /* J_ARRAY */
    size_t len, cap;
    int keys_unescaped;
} json_node;

struct json_doc {
    json_node *nodes;
    size_t len, cap;
};

static cv_buf errbuf; /* the last json_parse error, NUL-terminated */

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q)
        cv_trap("out of memory");
    return q;
}

static size_t push(json_doc *d, int type) {
    if (d->len == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 16;
        d->nodes = (json_node *)xrealloc(d->nodes, d->cap * sizeof *d->nodes);
    }
    json_node *n = &d->nodes[d->len];
    memset(n, 0, sizeof *n);
    n->type = type;
    return d->len++;
}

/* ---- Go quoting (strconv.Quote) ---- */

static const char HEX[] = "0123456789abcdef";

static int is_print(uint32_t r) {
    return !((r >= 0x80 && r <= 0xA0) || r == 0xAD || (r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD ||
             r == 0x70F || r == 0x1680 || r == 0x180E || (r >= 0x2000 && r <= 0x200F) ||
             (r >= 0x2028 && r <= 0x202F) || (r >= 0x205F && r <= 0x206F) || r == 0x3000 ||
             (r >= 0xD800 && r <= 0xF8FF) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || r == 0xFFFE ||
             r == 0xFFFF || r >= 0xE0000);
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its width, or 0
 * if invalid (Go's utf8.DecodeRune then yields RuneError of width 1). */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *r) {
    uint8_t c = s[0];
    size_t w;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF)
        w = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        w = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        w = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < w)
        return 0;
    for (size_t i = 1; i < w; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *r = v;
    return w;
}

static void go_quote(cv_buf *dst, const uint8_t *s, size_t n) {
    cv_buf_append(dst, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        char esc[12];
        if (c < 0x80) {
            i++;
            switch (c) {
            case '"': cv_buf_append(dst, "\\\"", 2); break;
            case '\\': cv_buf_append(dst, "\\\\", 2); break;
            case 7: cv_buf_append(dst, "\\a", 2); break;
            case 8: cv_buf_append(dst, "\\b", 2); break;
            case 12: cv_buf_append(dst, "\\f", 2); break;
            case '\n': cv_buf_append(dst, "\\n", 2); break;
            case '\r': cv_buf_append(dst, "\\r", 2); break;
            case '\t': cv_buf_append(dst, "\\t", 2); break;
            case 11: cv_buf_append(dst, "\\v", 2); break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    esc[0] = '\\', esc[1] = 'x', esc[2] = HEX[c >> 4], esc[3] = HEX[c & 15];
                    cv_buf_append(dst, esc, 4);
                } else {
                    cv_buf_append(dst, &c, 1);
                }
            }
            continue;
        }
        uint32_t r;
        size_t w = utf8_decode(s + i, n - i, &r);
        if (w == 0) {
            esc[0] = '\\', esc[1] = 'x', esc[2] = HEX[c >> 4], esc[3] = HEX[c & 15];
            cv_buf_append(dst, esc, 4);
            i++;
            continue;
        }
        if (is_print(r)) {
            cv_buf_append(dst, s + i, w);
        } else if (r < 0x10000) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)r);
            cv_buf_append(dst, esc, 6);
        } else {
            snprintf(esc, sizeof esc, "\\U%08x", (unsigned)r);
            cv_buf_append(dst, esc, 10);
        }
        i += w;
    }
    cv_buf_append(dst, "\"", 1);
}

/* fastjson's escapeString. */
static void escape_string(cv_buf *dst, const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\' || s[i] < 0x20) {
            go_quote(dst, s, n);
            return;
        }
    }
    cv_buf_append(dst, "\"", 1);
    cv_buf_append(dst, s, n);
    cv_buf_append(dst, "\"", 1);
}

/* ---- errors: fastjson's texts ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
} span;

static cv_buf errs; /* the error being built, innermost part first */

/* %q of s, or of fastjson's startEndString(s) when short is set. */
static void quote_into(cv_buf *b, span s, int start_end) {
    if (start_end && s.n > 80) {
        cv_buf t = {0};
        cv_buf_append(&t, s.p, 40);
        cv_buf_append(&t, "...", 3);
        cv_buf_append(&t, s.p + s.n - 40, 40);
        go_quote(b, t.data, t.len);
        cv_buf_free(&t);
        return;
    }
    go_quote(b, s.p, s.n);
}

/* Sets the error to text (+ %q of q when q.p is set); returns -1. */
static int fail(const char *text, span q) {
    errs.len = 0;
    cv_buf_append_str(&errs, text);
    if (q.p)
        quote_into(&errs, q, 0);
    return -1;
}

/* Prefixes the error with text; returns -1. */
static int wrap(const char *text) {
    cv_buf t = {0};
    cv_buf_append_str(&t, text);
    cv_buf_append(&t, errs.data, errs.len);
    cv_buf_free(&errs);
    errs = t;
    return -1;
}

/* ---- parsing ---- */

static int is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static span skip_ws(span s) {
    while (s.n && is_ws(s.p[0]))
        s.p++, s.n--;
    return s;
}

static span adv(span s, size_t k) {
    s.p += k, s.n -= k;
    return s;
}

static const span NOQ = {NULL, 0};

/* fastjson's parseRawString: up to the first quote not escaped by an odd
 * number of backslashes. On success *str is the string, *tail after it. */
static int raw_string(span s, span *str, span *tail) {
    span ss = s;
    const uint8_t *q = memchr(s.p, '"', s.n);
    if (!q) {
        *tail = adv(ss, ss.n);
        return fail("missing closing '\"'", NOQ);
    }
    size_t n = (size_t)(q - s.p);
    if (n == 0 || s.p[n - 1] != '\\') {
        *str = (span){s.p, n};
        *tail = adv(s, n + 1);
        return 0;
    }
    for (;;) {
        size_t i = n - 1;
        while (i > 0 && s.p[i - 1] == '\\')
            i--;
        if ((n - i) % 2 == 0) {
            *str = (span){ss.p, (size_t)(s.p - ss.p) + n};
            *tail = adv(s, n + 1);
            return 0;
        }
        s = adv(s, n + 1);
        q = memchr(s.p, '"', s.n);
        if (!q) {
            *tail = adv(ss, ss.n);
            return fail("missing closing '\"'", NOQ);
        }
        n = (size_t)(q - s.p);
        if (n == 0 || s.p[n - 1] != '\\') {
            *str = (span){ss.p, (size_t)(s.p - ss.p) + n};
            *tail = adv(s, n + 1);
            return 0;
        }
    }
}

static int raw_key(span s, span *str, span *tail) {
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '"') {
            *str = (span){s.p, i};
            *tail = adv(s, i + 1);
            return 0;
        }
        if (s.p[i] == '\\')
            return raw_string(s, str, tail);
    }
    *tail = adv(s, s.n);
    return fail("missing closing '\"'", NOQ);
}

static int eq_fold3(const uint8_t *p, const char *w) {
    for (int i = 0; i < 3; i++) {
        uint8_t c = p[i];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != (uint8_t)w[i])
            return 0;
    }
    return 1;
}

/* fastjson's parseRawNumber. */
static int raw_number(span s, span *num, span *tail) {
    for (size_t i = 0; i < s.n; i++) {
        uint8_t c = s.p[i];
        if ((c >= '0' && c <= '9') || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+')
            continue;
        if (i == 0 || (i == 1 && (s.p[0] == '-' || s.p[0] == '+'))) {
            if (s.n - i >= 3 && (eq_fold3(s.p + i, "inf") || eq_fold3(s.p + i, "nan"))) {
                *num = (span){s.p, i + 3};
                *tail = adv(s, i + 3);
                return 0;
            }
            *tail = s;
            return fail("unexpected char: ", (span){s.p, 1});
        }
        *num = (span){s.p, i};
        *tail = adv(s, i);
        return 0;
    }
    *num = s;
    *tail = adv(s, s.n);
    return 0;
}

static int value(json_doc *d, span s, int depth, size_t *id, span *tail);

static int array(json_doc *d, span s, int depth, size_t *id, span *tail) {
    s = skip_ws(s);
    if (s.n == 0) {
        *tail = s;
        return fail("missing ']'", NOQ);
    }
    size_t a = push(d, J_ARRAY);
    *id = a;
    if (s.p[0] == ']') {
        *tail = adv(s, 1);
        return 0;
    }
    for (;;) {
        size_t v;
        s = skip_ws(s);
        if (value(d, s, depth, &v, tail) != 0)
            return wrap("cannot parse array value: ");
        json_node *n = &d->nodes[a];
        if (n->len == n->cap) {
            n->cap = n->cap ? 2 * n->cap : 4;
            n->items = (size_t *)xrealloc(n->items, n->cap * sizeof *n->items);
        }
        n->items[n->len++] = v;
        s = skip_ws(*tail);
        if (s.n == 0) {
            *tail = s;
            return fail("unexpected end of array", NOQ);
        }
        if (s.p[0] == ',') {
            s = adv(s, 1);
            continue;
        }
        if (s.p[0] == ']') {
            *tail = adv(s, 1);
            return 0;
        }
        *tail = s;
        return fail("missing ',' after array value", NOQ);
    }
}

static int object(json_doc *d, span s, int depth, size_t *id, span *tail) {
    s = skip_ws(s);
    if (s.n == 0) {
        *tail = s;
        return fail("missing '}'", NOQ);
    }
    size_t o = push(d, J_OBJECT);
    *id = o;
    if (s.p[0] == '}') {
        *tail = adv(s, 1);
        return 0;
    }
    for (;;) {
        span k;
        size_t v;
        s = skip_ws(s);
        if (s.n == 0 || s.p[0] != '"') {
            *tail = s;
            return fail("cannot find opening '\"\" for object key", NOQ);
        }
        if (raw_key(adv(s, 1), &k, tail) != 0)
            return wrap("cannot parse object key: ");
        s = skip_ws(*tail);
        if (s.n == 0 || s.p[0] != ':') {
            *tail = s;
            return fail("missing ':' after object key", NOQ);
        }
        s = skip_ws(adv(s, 1));
        if (value(d, s, depth, &v, tail) != 0)
            return wrap("cannot parse object value: ");
        json_node *n = &d->nodes[o];
        if (n->len == n->cap) {
            n->cap = n->cap ? 2 * n->cap : 4;
            n->kvs = (json_kv *)xrealloc(n->kvs, n->cap * sizeof *n->kvs);
        }
        n->kvs[n->len++] = (json_kv){k.p, k.n, NULL, v};
        s = skip_ws(*tail);
        if (s.n == 0) {
            *tail = s;
            return fail("unexpected end of object", NOQ);
        }
        if (s.p[0] == ',') {
            s = adv(s, 1);
            continue;
        }
        if (s.p[0] == '}') {
            *tail = adv(s, 1);
            return 0;
        }
        *tail = s;
        return fail("missing ',' after object value", NOQ);
    }
}

static int literal(span s, const char *w) {
    size_t n = strlen(w);
    return s.n >= n && memcmp(s.p, w, n) == 0;
}

static int value(json_doc *d, span s, int depth, size_t *id, span *tail) {
    if (s.n == 0) {
        *tail = s;
        return fail("cannot parse empty string", NOQ);
    }
    depth++;
    if (depth > MAX_DEPTH) {
        *tail = s;
        return fail("too big depth for the nested JSON; it exceeds 300", NOQ);
    }
    switch (s.p[0]) {
    case '{':
        return object(d, adv(s, 1), depth, id, tail) ? wrap("cannot parse object: ") : 0;
    case '[':
        return array(d, adv(s, 1), depth, id, tail) ? wrap("cannot parse array: ") : 0;
    case '"': {
        span str;
        if (raw_string(adv(s, 1), &str, tail) != 0)
            return wrap("cannot parse string: ");
        *id = push(d, J_RAWSTR);
        d->nodes[*id].s = str.p, d->nodes[*id].n = str.n;
        return 0;
    }
    case 't':
        if (!literal(s, "true")) {
            *tail = s;
            return fail("unexpected value found: ", s);
        }
        *id = push(d, J_TRUE);
        *tail = adv(s, 4);
        return 0;
    case 'f':
        if (!literal(s, "false")) {
            *tail = s;
            return fail("unexpected value found: ", s);
        }
        *id = push(d, J_FALSE);
        *tail = adv(s, 5);
        return 0;
    case 'n':
        if (!literal(s, "null")) {
            if (s.n >= 3 && eq_fold3(s.p, "nan")) {
                *id = push(d, J_NUMBER);
                d->nodes[*id].s = s.p, d->nodes[*id].n = 3;
                *tail = adv(s, 3);
                return 0;
            }
            *tail = s;
            return fail("unexpected value found: ", s);
        }
        *id = push(d, J_NULL);
        *tail = adv(s, 4);
        return 0;
    default: {
        span num;
        if (raw_number(s, &num, tail) != 0)
            return wrap("cannot parse number: ");
        *id = push(d, J_NUMBER);
        d->nodes[*id].s = num.p, d->nodes[*id].n = num.n;
        return 0;
    }
    }
}

const char *json_parse(json_doc **out, const uint8_t *p, size_t n) {
    json_doc *d = (json_doc *)xrealloc(NULL, sizeof *d);
    memset(d, 0, sizeof *d);
    *out = d;
    span s = skip_ws((span){p, n}), tail;
    size_t id;
    cv_buf msg = {0};
    if (value(d, s, 0, &id, &tail) != 0) {
        cv_buf_append_str(&msg, "cannot parse JSON: ");
        cv_buf_append(&msg, errs.data, errs.len);
        cv_buf_append_str(&msg, "; unparsed tail: ");
        quote_into(&msg, tail, 1);
    } else {
        tail = skip_ws(tail);
        if (tail.n) {
            cv_buf_append_str(&msg, "unexpected tail: ");
            quote_into(&msg, tail, 1);
        }
    }
    if (msg.len == 0)
        return NULL;
    cv_buf_append(&msg, "", 1);
    cv_buf_free(&errbuf);
    errbuf = msg;
    return (const char *)errbuf.data;
}

/* ---- lookups and edits ---- */

static int has_backslash(const uint8_t *p, size_t n) { return n && memchr(p, '\\', n) != NULL; }

static void put_rune(cv_buf *b, uint32_t r) {
    uint8_t u[4];
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        u[0] = (uint8_t)r;
        cv_buf_append(b, u, 1);
    } else if (r < 0x800) {
        u[0] = (uint8_t)(0xC0 | r >> 6), u[1] = (uint8_t)(0x80 | (r & 0x3F));
        cv_buf_append(b, u, 2);
    } else if (r < 0x10000) {
        u[0] = (uint8_t)(0xE0 | r >> 12), u[1] = (uint8_t)(0x80 | (r >> 6 & 0x3F)), u[2] = (uint8_t)(0x80 | (r & 0x3F));
        cv_buf_append(b, u, 3);
    } else {
        u[0] = (uint8_t)(0xF0 | r >> 18), u[1] = (uint8_t)(0x80 | (r >> 12 & 0x3F));
        u[2] = (uint8_t)(0x80 | (r >> 6 & 0x3F)), u[3] = (uint8_t)(0x80 | (r & 0x3F));
        cv_buf_append(b, u, 4);
    }
}

static int hex4(const uint8_t *p, uint32_t *x) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (uint32_t)d;
    }
    *x = v;
    return 1;
}

/* fastjson's unescapeStringBestEffort, into b. */
static void unescape(cv_buf *b, const uint8_t *s, size_t n) {
    const uint8_t *q = memchr(s, '\\', n);
    size_t k = (size_t)(q - s);
    cv_buf_append(b, s, k);
    s += k + 1, n -= k + 1;
    while (n > 0) {
        uint8_t ch = s[0];
        s++, n--;
        switch (ch) {
        case '"': cv_buf_append(b, "\"", 1); break;
        case '\\': cv_buf_append(b, "\\", 1); break;
        case '/': cv_buf_append(b, "/", 1); break;
        case 'b': cv_buf_append(b, "\b", 1); break;
        case 'f': cv_buf_append(b, "\f", 1); break;
        case 'n': cv_buf_append(b, "\n", 1); break;
        case 'r': cv_buf_append(b, "\r", 1); break;
        case 't': cv_buf_append(b, "\t", 1); break;
        case 'u': {
            uint32_t x, x1;
            if (n < 4 || !hex4(s, &x)) {
                cv_buf_append(b, "\\u", 2);
                break;
            }
            const uint8_t *xs = s;
            s += 4, n -= 4;
            if (!(x >= 0xD800 && x < 0xE000)) {
                put_rune(b, x);
                break;
            }
            if (n < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &x1)) {
                cv_buf_append(b, "\\u", 2);
                cv_buf_append(b, xs, 4);
                break;
            }
            if (x < 0xDC00 && x1 >= 0xDC00 && x1 < 0xE000)
                put_rune(b, 0x10000 + ((x - 0xD800) << 10 | (x1 - 0xDC00)));
            else
                put_rune(b, 0xFFFD);
            s += 6, n -= 6;
            break;
        }
        default: {
            uint8_t e[2] = {'\\', ch};
            cv_buf_append(b, e, 2);
        }
        }
        q = n ? memchr(s, '\\', n) : NULL;
        if (!q) {
            cv_buf_append(b, s, n);
            break;
        }
        k = (size_t)(q - s);
        cv_buf_append(b, s, k);
        s += k + 1, n -= k + 1;
    }
}

static void unescape_keys(json_node *o) {
    if (o->keys_unescaped)
        return;
    for (size_t i = 0; i < o->len; i++) {
        json_kv *kv = &o->kvs[i];
        if (has_backslash(kv->p, kv->n)) {
            cv_buf b = {0};
            unescape(&b, kv->p, kv->n);
            kv->owned = b.data;
            kv->p = b.data;
            kv->n = b.len;
        }
    }
    o->keys_unescaped = 1;
}

static int key_eq(const json_kv *kv, const char *key, size_t n) { return kv->n == n && (n == 0 || memcmp(kv->p, key, n) == 0); }

/* fastjson's Object.Get, with its side effect: a key not found among the
 * raw keys unescapes all keys of the object. */
static size_t object_get(json_node *o, const char *key) {
    size_t n = strlen(key);
    if (!o->keys_unescaped && !memchr(key, '\\', n)) {
        for (size_t i = 0; i < o->len; i++)
            if (key_eq(&o->kvs[i], key, n))
                return o->kvs[i].val;
    }
    unescape_keys(o);
    for (size_t i = 0; i < o->len; i++)
        if (key_eq(&o->kvs[i], key, n))
            return o->kvs[i].val;
    return JSON_NONE;
}

/* Go's strconv.Atoi; returns 0 on error. */
static int atoi64(const char *s, int64_t *out) {
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return 0;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        int d = *s - '0';
        if (neg) {
            if (v < (INT64_MIN + d) / 10)
                return 0;
            v = v * 10 - d;
        } else {
            if (v > (INT64_MAX - d) / 10)
                return 0;
            v = v * 10 + d;
        }
    }
    *out = v;
    return 1;
}

size_t json_get(json_doc *d, size_t v, const char *const *keys, size_t nkeys) {
    for (size_t i = 0; i < nkeys; i++) {
        json_node *n = &d->nodes[v];
        if (n->type == J_OBJECT) {
            v = object_get(n, keys[i]);
            if (v == JSON_NONE)
                return JSON_NONE;
        } else if (n->type == J_ARRAY) {
            int64_t k;
            if (!atoi64(keys[i], &k) || k < 0 || (uint64_t)k >= n->len)
                return JSON_NONE;
            v = n->items[k];
        } else {
            return JSON_NONE;
        }
    }
    return v;
}

void json_set_string(json_doc *d, size_t v, const char *key, const char *value, size_t len) {
    size_t s = push(d, J_STR);
    uint8_t *copy = (uint8_t *)xrealloc(NULL, len);
    if (len)
        memcpy(copy, value, len);
    d->nodes[s].owned = copy, d->nodes[s].s = copy, d->nodes[s].n = len;
    json_node *n = &d->nodes[v];
    if (n->type == J_OBJECT) {
        size_t kl = strlen(key);
        unescape_keys(n);
        for (size_t i = 0; i < n->len; i++) {
            if (key_eq(&n->kvs[i], key, kl)) {
                n->kvs[i].val = s;
                return;
            }
        }
        if (n->len == n->cap) {
            n->cap = n->cap ? 2 * n->cap : 4;
            n->kvs = (json_kv *)xrealloc(n->kvs, n->cap * sizeof *n->kvs);
        }
        uint8_t *k = (uint8_t *)xrealloc(NULL, kl);
        memcpy(k, key, kl);
        n->kvs[n->len++] = (json_kv){k, kl, k, s};
    } else if (n->type == J_ARRAY) {
        int64_t idx;
        if (!atoi64(key, &idx) || idx < 0)
            return;
        while ((uint64_t)idx >= n->len) { /* fastjson pads with null */
            if (n->len == n->cap) {
                n->cap = n->cap ? 2 * n->cap : 4;
                n->items = (size_t *)xrealloc(n->items, n->cap * sizeof *n->items);
            }
            n->items[n->len++] = JSON_NONE;
        }
        n->items[idx] = s;
    }
}

static void marshal(const json_doc *d, size_t v, cv_buf *out) {
    if (v == JSON_NONE) {
        cv_buf_append(out, "null", 4);
        return;
    }
    const json_node *n = &d->nodes[v];
    switch (n->type) {
    case J_RAWSTR:
        cv_buf_append(out, "\"", 1);
        cv_buf_append(out, n->s, n->n);
        cv_buf_append(out, "\"", 1);
        break;
    case J_OBJECT:
        cv_buf_append(out, "{", 1);
        for (size_t i = 0; i < n->len; i++) {
            const json_kv *kv = &n->kvs[i];
            if (n->keys_unescaped) {
                escape_string(out, kv->p, kv->n);
            } else {
                cv_buf_append(out, "\"", 1);
                cv_buf_append(out, kv->p, kv->n);
                cv_buf_append(out, "\"", 1);
            }
            cv_buf_append(out, ":", 1);
            marshal(d, kv->val, out);
            if (i + 1 != n->len)
                cv_buf_append(out, ",", 1);
        }
        cv_buf_append(out, "}", 1);
        break;
    case J_ARRAY:
        cv_buf_append(out, "[", 1);
        for (size_t i = 0; i < n->len; i++) {
            marshal(d, n->items[i], out);
            if (i + 1 != n->len)
                cv_buf_append(out, ",", 1);
        }
        cv_buf_append(out, "]", 1);
        break;
    case J_STR: escape_string(out, n->s, n->n); break;
    case J_NUMBER: cv_buf_append(out, n->s, n->n); break;
    case J_TRUE: cv_buf_append(out, "true", 4); break;
    case J_FALSE: cv_buf_append(out, "false", 5); break;
    default: cv_buf_append(out, "null", 4); break;
    }
}

void json_marshal(const json_doc *d, cv_buf *out) { marshal(d, JSON_ROOT, out); }

void json_free(json_doc *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->len; i++) {
        json_node *n = &d->nodes[i];
        for (size_t j = 0; j < n->len && n->type == J_OBJECT; j++)
            free(n->kvs[j].owned);
        free(n->kvs);
        free(n->items);
        free(n->owned);
    }
    free(d->nodes);
    free(d);
}

void json_quote(cv_buf *dst, const uint8_t *s, size_t n) { go_quote(dst, s, n); }
