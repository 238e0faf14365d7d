/* A minimal test harness for the native C unit tests (build.sh test). */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

/* b (a cv_bytes) equals the C string s. */
#define CHECK_BYTES(b, s) CHECK((b).len == strlen(s) && ((b).len == 0 || memcmp((b).ptr, (s), (b).len) == 0))

#define CHECK_DONE(name)                                                        \
    do {                                                                        \
        if (check_failures) {                                                   \
            fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures); \
            return 1;                                                           \
        }                                                                       \
        printf("%s: ok\n", name);                                               \
        return 0;                                                               \
    } while (0)

#define B(s) ((cv_bytes){(const uint8_t *)(s), (uint32_t)strlen(s)})

#endif
