/*
 * A small JSON tree that parses, edits and prints exactly like
 * github.com/valyala/fastjson v1.6 (what the Go pii-redactor uses), so the C
 * and Go redactors produce the same bytes: numbers and strings keep their
 * source text, white space is dropped when printing, an object's keys are
 * printed as written unless a lookup had to unescape them, and new strings
 * are quoted as Go's strconv.Quote does (approximated for non-printable
 * non-ASCII characters, see go_quote in json.c).
 */
#ifndef PII_JSON_H
#define PII_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "conveyor.h"

typedef struct json_doc json_doc;

/* The root node's id. */
#define JSON_ROOT 0
/* No node. */
#define JSON_NONE ((size_t)-1)

/* Parses s[0:n] (borrowed until json_free). Returns NULL on success, or an
 * error text (fastjson's) in a buffer valid until the next call. */
const char *json_parse(json_doc **doc, const uint8_t *s, size_t n);
/* fastjson's Value.Get(keys...): object keys and decimal array indexes. */
size_t json_get(json_doc *d, size_t v, const char *const *keys, size_t nkeys);
/* fastjson's Value.Set(key, a new string value). */
void json_set_string(json_doc *d, size_t v, const char *key, const char *value, size_t len);
/* fastjson's Value.MarshalTo of the root, appended to out. */
void json_marshal(const json_doc *d, cv_buf *out);
void json_free(json_doc *d);
/* Go's %q (strconv.Quote) of s[0:n], appended to dst. */
void json_quote(cv_buf *dst, const uint8_t *s, size_t n);

#endif
