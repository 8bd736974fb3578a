/* Helpers of the cmocka tests: the committed reference fixtures (little-endian float32 files under
 * tests/fixtures, or under $SIGLOOP_FIXTURES), and each test program's own scratch folder.
 * Include after <cmocka.h>. */
#ifndef SIGLOOP_TEST_FIXTURE_H
#define SIGLOOP_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sigloop/fileio.h"

/* subdir/name, which must hold exactly count floats; fails the test otherwise. Caller frees. */
static inline float *sl_test_fixture(const char *subdir, const char *name, size_t count)
{
    const char *dir = getenv("SIGLOOP_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir ? dir : "tests/fixtures", subdir, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open fixture %s", path);
    float *x = malloc(count * sizeof *x);
    assert_non_null(x);
    size_t got = fread(x, sizeof *x, count, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != count || extra) fail_msg("%s: expected exactly %zu floats", path, count);
    return x;
}

/* out = $SIGLOOP_TEST_TMP/name.PID (or under /tmp), created; 0, or -1 after printing why. */
static inline int sl_test_tmp_dir(char *out, size_t size, const char *name)
{
    const char *t = getenv("SIGLOOP_TEST_TMP");
    snprintf(out, size, "%s/%s.%d", t && *t ? t : "/tmp", name, (int)getpid());
    if (sl_mkdirs(out) == SL_OK) return 0;
    fprintf(stderr, "%s\n", sl_last_error());
    return -1;
}

#endif
