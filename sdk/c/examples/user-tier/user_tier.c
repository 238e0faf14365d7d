/*
 * user-tier, in C: a lookup plugin (ABI 1.1) that answers user ids with
 * their customer tier from a table compiled into the module, the twin of
 * examples/plugins/user-tier. See README.md.
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -s -I ../.. -o user-tier.wasm user_tier.c
 */
#define CONVEYOR_IMPLEMENTATION
#include "conveyor.h"

#include <string.h>

/* The table: user id and row (one JSON object per user). */
static const struct {
    const char *user_id, *row;
} tiers[] = {
#include "tiers.inc"
};

static cv_buf default_row; /* empty: unknown users are misses */

/* Appends s as a JSON string. */
static void json_string(cv_buf *b, cv_bytes s) {
    static const char hex[] = "0123456789abcdef";
    cv_buf_append(b, "\"", 1);
    for (uint32_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            cv_buf_append(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            cv_buf_append(b, e, 6);
        } else {
            cv_buf_append(b, &c, 1);
        }
    }
    cv_buf_append(b, "\"", 1);
}

static const char *init(const cv_config *cfg) {
    cv_bytes tier;
    if (cv_config_get(cfg, "default_tier", &tier)) {
        cv_buf_append_str(&default_row, "{\"tier\":");
        json_string(&default_row, tier);
        cv_buf_append_str(&default_row, ",\"default\":true}");
    }
    return NULL;
}

static int lookup(cv_bytes key, cv_buf *row) {
    for (size_t i = 0; i < sizeof tiers / sizeof *tiers; i++) {
        if (strlen(tiers[i].user_id) == key.len && memcmp(tiers[i].user_id, key.ptr, key.len) == 0) {
            cv_buf_append_str(row, tiers[i].row);
            return 1;
        }
    }
    if (default_row.len) {
        cv_buf_append(row, default_row.data, default_row.len);
        return 1;
    }
    return 0;
}

static const cv_plugin plugin = {.init = init, .lookup = lookup};

CONVEYOR_EXPORT_LOOKUP(plugin)
