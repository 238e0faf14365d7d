/* Native unit tests of the C pii-redactor: the Go example's cases
 * (build.sh test). */
#include "redactor.c"

#include "../../tests/check.h"

static const char *run(const char *fields, const char *repl, const char *payload, int *kind) {
    static char result[512];
    cv_test_reset();
    cv_test_config("fields", fields);
    if (repl)
        cv_test_config("replacement", repl);
    npaths = 0; /* a fresh instance */
    const char *err = cv_test_init(&plugin);
    if (err) {
        *kind = -1;
        return err;
    }
    cv_record in = {B("k"), B(payload), NULL, 0, 0, 0};
    const cv_test_entry *out;
    if (cv_test_process(&plugin, &in, 1, &out) != 1) {
        *kind = -2;
        return "";
    }
    *kind = out[0].kind;
    cv_bytes b = out[0].kind == 0 ? out[0].record.payload : out[0].message;
    snprintf(result, sizeof result, "%.*s", (int)b.len, (const char *)b.ptr);
    return result;
}

int main(void) {
    static const struct {
        const char *fields, *repl, *payload, *want;
    } cases[] = {
        {"email,user.phone", NULL, "{\"email\":\"a@b.c\",\"user\":{\"phone\":\"+1 555\",\"name\":\"Ann\"},\"n\":1.50}",
         "{\"email\":\"[REDACTED]\",\"user\":{\"phone\":\"[REDACTED]\",\"name\":\"Ann\"},\"n\":1.50}"},
        {"email", "***", "{\"email\":\"a@b.c\"}", "{\"email\":\"***\"}"},
        {"ssn, card", NULL, "{\"ssn\":123456789,\"card\":{\"number\":\"4111\"},\"ok\":true}",
         "{\"ssn\":\"[REDACTED]\",\"card\":\"[REDACTED]\",\"ok\":true}"},
        {"users.1.email", NULL, "{\"users\":[{\"email\":\"a\"},{\"email\":\"b\"}]}",
         "{\"users\":[{\"email\":\"a\"},{\"email\":\"[REDACTED]\"}]}"},
        {"email", NULL, "{ \"name\" : \"x\" }", "{ \"name\" : \"x\" }"},
        {"email", NULL, "42", "42"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int kind;
        const char *got = run(cases[i].fields, cases[i].repl, cases[i].payload, &kind);
        CHECK(kind == 0 && strcmp(got, cases[i].want) == 0);
        if (kind != 0 || strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "case %zu: got %d %s\n", i, kind, got);
    }
    int kind;
    const char *got = run("email", NULL, "email=a@b.c", &kind);
    CHECK(kind == 2 && strncmp(got, "payload is not JSON: ", 21) == 0);
    got = run("user..phone", NULL, "{}", &kind);
    CHECK(kind == -1 && strstr(got, "field path \"user..phone\" has an empty segment"));
    got = run(" , ,", NULL, "{}", &kind);
    CHECK(kind == -1 && strstr(got, "config \"fields\": required"));
    run("a,b,c", NULL, "{\"a\":1,\"b\":2}", &kind);
    CHECK(cv_test_counter("fields_redacted") == 2);
    CHECK_DONE("redactor_test");
}
